// 3. Dynamic batching D(c): c clients each sending one item per request, with the service's
// batching and with MAX_BATCH_SIZE=1 (batching off).
import type { BenchContext } from '../lib/context.js';
import { runLoad, scoreBodies, warmUp } from '../lib/load.js';
import { delta, scrape } from '../lib/metrics.js';
import { withServer } from '../lib/server.js';
import { pct, repeat, spreadOf, type Spread } from '../lib/stats.js';

export interface BatchingRow {
  mode: 'batching' | 'off';
  clients: number;
  itemsPerSecond: Spread;
  p50Ms: Spread;
  p99Ms: Spread;
  /** Mean time of one inference batch in the run, ms. */
  batchMs: Spread;
  meanBatchSize: Spread;
  errors: number;
}

export interface BatchingResult {
  seconds: number;
  maxWaitMs: number;
  rows: BatchingRow[];
}

export async function batchingSection(ctx: BenchContext): Promise<BatchingResult> {
  const { opts } = ctx;
  const bodies = scoreBodies(ctx.corpus.items, 1, ctx.corpus.items.length);
  const rows: BatchingRow[] = [];
  for (const [mode, env] of [['batching', {}], ['off', { MAX_BATCH_SIZE: '1' }]] as const) {
    await withServer(env, async (s) => {
      await warmUp(s.base, bodies, 8);
      for (const clients of opts.batchingClients) {
        let errors = 0;
        const runs = await repeat(opts.repeats, async () => {
          const before = await scrape(s.base);
          const r = await runLoad({ base: s.base, bodies, itemsPerBody: 1, clients, seconds: opts.batchingSeconds });
          const d = delta(before, await scrape(s.base));
          errors += r.errors;
          return {
            itemsPerSecond: r.itemsPerSecond,
            p50Ms: pct(r.latencies, 50),
            p99Ms: pct(r.latencies, 99),
            batchMs: (1000 * d.total('reward_inference_duration_seconds_sum')) / d.total('reward_inference_duration_seconds_count'),
            meanBatchSize: d.total('reward_batch_size_sum') / d.total('reward_batch_size_count'),
          };
        });
        const row: BatchingRow = { mode, clients, ...spreadOf(runs, ['itemsPerSecond', 'p50Ms', 'p99Ms', 'batchMs', 'meanBatchSize'] as const), errors };
        ctx.log(`  ${mode} D(${clients}) ${row.itemsPerSecond.median.toFixed(1)} items/s, p99 ${row.p99Ms.median.toFixed(1)} ms, batch ${row.meanBatchSize.median.toFixed(1)} items / ${row.batchMs.median.toFixed(1)} ms`);
        rows.push(row);
      }
    });
  }
  return { seconds: opts.batchingSeconds, maxWaitMs: ctx.config.maxWaitMs, rows };
}
