import { metricsBySubset, type PairMetrics } from './pair-metrics.js';
import type { EvalTarget } from './eval-target.js';
import type { PreferencePair } from './read-pairs.js';

/** The outcome of one evaluation, as written by `--json`. */
export interface EvalReport {
  model: string;
  target: string;
  data: string;
  temperature: number;
  /** Items scored (two per pair). */
  items: number;
  seconds: number;
  itemsPerSecond: number;
  overall: PairMetrics;
  subsets: Record<string, PairMetrics>;
  /** r(chosen) − r(rejected) per pair, in file order. */
  margins: number[];
}

/** Options of one evaluation run. */
export interface RunOptions {
  /** Pairs per scoring call (two items each). */
  chunkPairs?: number;
  /** Scoring calls in flight, so the batcher can group items by length. */
  concurrency?: number;
  /** T of σ(Δ/T); defaults to the model's own. */
  temperature?: number;
  onProgress?: (donePairs: number, totalPairs: number, seconds: number) => void;
}

/** Scores every pair through the target and computes the metrics. */
export async function runEval(target: EvalTarget, pairs: readonly PreferencePair[], data: string, opts: RunOptions = {}): Promise<EvalReport> {
  const chunk = opts.chunkPairs ?? 32;
  const margins = new Array<number>(pairs.length);
  const t0 = performance.now();
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < pairs.length) {
      const start = next;
      const part = pairs.slice(start, (next = Math.min(pairs.length, start + chunk)));
      const rewards = await target.score(part.flatMap((p) => [p.chosen, p.rejected]));
      part.forEach((_, i) => (margins[start + i] = rewards[2 * i]! - rewards[2 * i + 1]!));
      done += part.length;
      opts.onProgress?.(done, pairs.length, (performance.now() - t0) / 1000);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 8 }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const temperature = opts.temperature ?? target.temperature;
  const m = metricsBySubset(
    pairs.map((p) => p.subset),
    margins,
    temperature,
  );
  return {
    model: target.model,
    target: target.where,
    data,
    temperature,
    items: 2 * pairs.length,
    seconds,
    itemsPerSecond: (2 * pairs.length) / seconds,
    overall: m.overall,
    subsets: m.subsets,
    margins,
  };
}
