// 1. Limit L: raw ORT in-process, the service's worker setup, batches of 64 grouped by length.
import type { BenchContext } from '../lib/context.js';
import { serviceBackend } from '../lib/context.js';
import { fixedBatches, limitedBatches, measureRate, withBackend } from '../lib/limit.js';
import { repeat, spread, type Spread } from '../lib/stats.js';
import { batchTokenBudget } from '../../src/core/runtime.js';

export interface LimitResult {
  workers: number;
  intraOpThreads: number;
  batch: number;
  maxBatchSize: number;
  maxBatchTokens: number;
  /** items/s, batches of `batch` sorted by length. */
  L: Spread;
  /** items/s, batches cut at the service's MAX_BATCH_SIZE / MAX_BATCH_TOKENS. */
  Lprime: Spread;
}

export async function limitSection(ctx: BenchContext): Promise<LimitResult> {
  const { config, corpus, opts } = ctx;
  const fixed = fixedBatches(corpus.rows, opts.batch);
  const maxBatchTokens = batchTokenBudget(config, corpus.folder);
  const limited = limitedBatches(corpus.rows, config.maxBatchSize, maxBatchTokens);
  const backend = serviceBackend(ctx);
  const runs = await withBackend(backend, (b) =>
    repeat(opts.repeats, async () => {
      const L = await measureRate(b, fixed);
      const Lprime = await measureRate(b, limited);
      ctx.log(`  L ${L.toFixed(1)}, L' ${Lprime.toFixed(1)} items/s`);
      return { L, Lprime };
    }),
  );
  return {
    workers: backend.workers,
    intraOpThreads: backend.intraOpThreads,
    batch: opts.batch,
    maxBatchSize: config.maxBatchSize,
    maxBatchTokens,
    L: spread(runs.map((r) => r.L)),
    Lprime: spread(runs.map((r) => r.Lprime)),
  };
}
