import { sigmoid } from '../postprocess/postprocess.js';

/** Scores of a set of pairs: how often, and how confidently, the model prefers the chosen side. */
export interface PairMetrics {
  pairs: number;
  /** Pairs with r(chosen) > r(rejected), strictly. */
  correct: number;
  /** Pairs with r(chosen) = r(rejected): counted as wrong. */
  ties: number;
  /** correct / pairs. */
  accuracy: number;
  /** Mean of r(chosen) − r(rejected). */
  meanMargin: number;
  /** Expected calibration error of σ(Δ/T), 10 equal bins over [0, 1], both orders of each pair. */
  ece: number;
}

/** Number of equal-width probability bins of the calibration error. */
export const ECE_BINS = 10;

/**
 * Metrics of the margins Δ = r(chosen) − r(rejected). ECE: each pair counts twice, as
 * (p = σ(Δ/T), outcome 1) and (1 − p, outcome 0), so it does not depend on which side a dataset
 * lists first; ECE = Σ_bins (n_bin / 2N) · |mean p − mean outcome|. (Equivalently the usual
 * confidence ECE of max(p, 1 − p) over five bins of [0.5, 1], a tie counting half right.)
 */
export function pairMetrics(margins: readonly number[], temperature: number): PairMetrics {
  const n = margins.length;
  const sumP = new Array<number>(ECE_BINS).fill(0);
  const sumY = new Array<number>(ECE_BINS).fill(0);
  const count = new Array<number>(ECE_BINS).fill(0);
  const add = (p: number, y: number) => {
    const b = Math.min(Math.floor(p * ECE_BINS), ECE_BINS - 1);
    sumP[b]! += p;
    sumY[b]! += y;
    count[b]! += 1;
  };
  let correct = 0;
  let ties = 0;
  let sumMargin = 0;
  for (const d of margins) {
    if (d > 0) correct++;
    else if (d === 0) ties++;
    sumMargin += d;
    const p = sigmoid(d / temperature);
    add(p, 1);
    add(1 - p, 0);
  }
  let ece = 0;
  for (let b = 0; b < ECE_BINS; b++) {
    if (count[b]! > 0) ece += (count[b]! / (2 * n)) * Math.abs(sumP[b]! / count[b]! - sumY[b]! / count[b]!);
  }
  return { pairs: n, correct, ties, accuracy: n ? correct / n : 0, meanMargin: n ? sumMargin / n : 0, ece: n ? ece : 0 };
}

/** Metrics over all pairs and per subset (subsets in first-seen order). */
export function metricsBySubset(
  subsets: readonly string[],
  margins: readonly number[],
  temperature: number,
): { overall: PairMetrics; subsets: Record<string, PairMetrics> } {
  const groups = new Map<string, number[]>();
  subsets.forEach((s, i) => {
    let g = groups.get(s);
    if (!g) groups.set(s, (g = []));
    g.push(margins[i]!);
  });
  const out: Record<string, PairMetrics> = {};
  for (const [s, m] of groups) out[s] = pairMetrics(m, temperature);
  return { overall: pairMetrics(margins, temperature), subsets: out };
}
