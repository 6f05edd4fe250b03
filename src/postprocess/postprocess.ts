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

/** Bradley–Terry preference of a over b: σ((r_a − r_b) / T). */
export function preference(rewardA: number, rewardB: number, temperature: number): number {
  return sigmoid((rewardA - rewardB) / temperature);
}
