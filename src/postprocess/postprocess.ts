/** Logistic function, computed so that large |x| neither overflows nor loses the tail. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** The reward column of each item: `logits` is [items × numLabels], row-major. */
export function rewardsFrom(logits: Float32Array, numLabels: number, head: number): number[] {
  const n = logits.length / numLabels;
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = logits[i * numLabels + head]!;
  return out;
}

/** Weights by head name as one weight per head (0 where unnamed), and the names that are no head. */
export function weightVector(heads: readonly string[], weights: Readonly<Record<string, number>>): { vector: number[]; unknown: string[] } {
  return { vector: heads.map((n) => weights[n] ?? 0), unknown: Object.keys(weights).filter((k) => !heads.includes(k)) };
}

/** Σ_k w_k · logit_k per item; `weights` has one entry per head. */
export function weightedRewards(logits: Float32Array, numLabels: number, weights: readonly number[]): number[] {
  const n = logits.length / numLabels;
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let k = 0; k < numLabels; k++) r += weights[k]! * logits[i * numLabels + k]!;
    out[i] = r;
  }
  return out;
}

/** (r − mean) / std with the model's stored statistics (OpenRLHF's normalized reward). */
export function normalize(rewards: readonly number[], stats: { mean: number; std: number }): number[] {
  return rewards.map((r) => (r - stats.mean) / stats.std);
}

/** Bradley–Terry preference of a over b: σ((r_a − r_b) / T). */
export function preference(rewardA: number, rewardB: number, temperature: number): number {
  return sigmoid((rewardA - rewardB) / temperature);
}

/**
 * softmax(r / T): under Plackett–Luce (Bradley–Terry for n items), the probability that each
 * item is chosen first. Shifted by the maximum so large rewards do not overflow.
 */
export function firstChoice(rewards: readonly number[], temperature: number): number[] {
  const top = Math.max(...rewards);
  const e = rewards.map((r) => Math.exp((r - top) / temperature));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}

/** Indices ordered best first (ties keep request order). */
export function bestFirst(rewards: readonly number[]): number[] {
  return rewards.map((_, i) => i).sort((a, b) => rewards[b]! - rewards[a]! || a - b);
}

/** Per item, the members' mean, population standard deviation and the conservative mean − k·std. */
export function ensembleStats(members: readonly (readonly number[])[], k: number): { mean: number[]; std: number[]; conservative: number[] } {
  const n = members[0]!.length;
  const mean: number[] = [];
  const std: number[] = [];
  const conservative: number[] = [];
  for (let i = 0; i < n; i++) {
    const xs = members.map((m) => m[i]!);
    const mu = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mu) ** 2, 0) / xs.length);
    mean.push(mu);
    std.push(sd);
    conservative.push(mu - k * sd);
  }
  return { mean, std, conservative };
}

/** Share of `votes` equal to `verdict`. */
export function agreement<T>(votes: readonly T[], verdict: T): number {
  return votes.filter((v) => v === verdict).length / votes.length;
}

/**
 * A classifier's probabilities from its logits: σ for one class, softmax for several (vLLM's
 * classify pooler and TEI's predict without raw_scores).
 */
export function classProbabilities(logits: readonly number[]): number[] {
  if (logits.length === 1) return [sigmoid(logits[0]!)];
  return firstChoice(logits, 1);
}

/**
 * softmax over each group of `width` values, the `pick`-th probability of each: a process reward
 * model's positive probability at every position it read (computed in float64, max-shifted).
 */
export function positiveProbabilities(values: Float32Array, width: number, pick: number): number[] {
  const out = new Array<number>(values.length / width);
  for (let g = 0; g < out.length; g++) {
    let top = -Infinity;
    for (let c = 0; c < width; c++) top = Math.max(top, values[g * width + c]!);
    let sum = 0;
    for (let c = 0; c < width; c++) sum += Math.exp(values[g * width + c]! - top);
    out[g] = Math.exp(values[g * width + pick]! - top) / sum;
  }
  return out;
}

/** How step rewards combine into one reward (reward.json steps.aggregate). */
export function aggregateSteps(rewards: readonly number[], how: 'min' | 'last' | 'product' | 'mean'): number {
  if (how === 'min') return Math.min(...rewards);
  if (how === 'last') return rewards[rewards.length - 1]!;
  if (how === 'product') return rewards.reduce((a, b) => a * b, 1);
  return rewards.reduce((a, b) => a + b, 0) / rewards.length;
}
