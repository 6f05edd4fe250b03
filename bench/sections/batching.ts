// 3. Dynamic batching D(c): c clients each sending one item per request, with the service's
// batching and with MAX_BATCH_SIZE=1 (batching off).
import type { BenchContext } from '../lib/context.js';
import { CORE_KEYS, cpuMeter, type Cores } from '../lib/cpu.js';
import { runLoad, scoreBodies, warmLoad, warmUp, WARM_SECONDS } from '../lib/load.js';
import { delta, scrape } from '../lib/metrics.js';
import { startServer, type BenchServer } from '../lib/server.js';
import { pct, spreadOf, sum, type Spread } from '../lib/stats.js';

export interface BatchingRow {
  mode: 'batching' | 'off';
  clients: number;
  itemsPerSecond: Spread;
  p50Ms: Spread;
  p99Ms: Spread;
  /** Mean time of one inference batch in the run, ms. */
  batchMs: Spread;
  meanBatchSize: Spread;
  /** Where the CPU goes (see Cores). */
  cores?: Record<keyof Cores, Spread>;
  errors: number;
}

export interface BatchingResult {
  seconds: number;
  maxWaitMs: number;
  rows: BatchingRow[];
}

const MODES = [
  ['batching', {}],
  ['off', { MAX_BATCH_SIZE: '1' }],
] as const;

export async function batchingSection(ctx: BenchContext): Promise<BatchingResult> {
  const { opts } = ctx;
  const bodies = scoreBodies(ctx.corpus.items, 1, ctx.corpus.items.length);
  // Both servers up at once and their runs interleaved, so load changes on a shared machine hit
  // both modes alike; the idle one costs next to nothing.
  const servers: BenchServer[] = [];
  try {
    for (const [, env] of MODES) servers.push(await startServer(env));
    for (const s of servers) {
      await warmUp(s.base, bodies, 8);
      await warmLoad({ base: s.base, bodies, itemsPerBody: 1, clients: 64, seconds: WARM_SECONDS });
    }
    const runs = MODES.map(() => opts.batchingClients.map(() => [] as RunFigures[]));
    for (const [ci, clients] of opts.batchingClients.entries()) {
      for (let r = 0; r < opts.repeats; r++) {
        for (const [mi, s] of servers.entries()) runs[mi]![ci]!.push(await measure(s, bodies, clients, opts.batchingSeconds));
      }
    }
    const rows: BatchingRow[] = [];
    for (const [mi, [mode]] of MODES.entries()) {
      for (const [ci, clients] of opts.batchingClients.entries()) {
        const rs = runs[mi]![ci]!;
        const row: BatchingRow = {
          mode,
          clients,
          ...spreadOf(rs, ['itemsPerSecond', 'p50Ms', 'p99Ms', 'batchMs', 'meanBatchSize'] as const),
          cores: spreadOf(rs.map((x) => x.cores), CORE_KEYS),
          errors: sum(rs.map((x) => x.errors)),
        };
        ctx.log(`  ${mode} D(${clients}) ${row.itemsPerSecond.median.toFixed(1)} items/s, p99 ${row.p99Ms.median.toFixed(1)} ms, batch ${row.meanBatchSize.median.toFixed(1)} items / ${row.batchMs.median.toFixed(1)} ms`);
        rows.push(row);
      }
    }
    return { seconds: opts.batchingSeconds, maxWaitMs: ctx.config.maxWaitMs, rows };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

interface RunFigures {
  itemsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  batchMs: number;
  meanBatchSize: number;
  cores: Cores;
  errors: number;
}

async function measure(s: BenchServer, bodies: readonly string[], clients: number, seconds: number): Promise<RunFigures> {
  const before = await scrape(s.base);
  const cpu = cpuMeter(s);
  const r = await runLoad({ base: s.base, bodies, itemsPerBody: 1, clients, seconds });
  const d = delta(before, await scrape(s.base));
  return {
    itemsPerSecond: r.itemsPerSecond,
    p50Ms: pct(r.latencies, 50),
    p99Ms: pct(r.latencies, 99),
    batchMs: (1000 * d.total('reward_inference_duration_seconds_sum')) / d.total('reward_inference_duration_seconds_count'),
    meanBatchSize: d.total('reward_batch_size_sum') / d.total('reward_batch_size_count'),
    cores: cpu(d),
    errors: r.errors,
  };
}
