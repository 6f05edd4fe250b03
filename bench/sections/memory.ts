// 7. Memory: RSS of the server idle, at saturation, and after N minutes of saturation.
import type { BenchContext } from '../lib/context.js';
import { runLoad, scoreBodies, warmUp } from '../lib/load.js';
import { withServer } from '../lib/server.js';
import { sleep } from '../lib/stats.js';

export interface MemoryResult {
  minutes: number;
  idleBytes: number;
  /** RSS once saturated (the sample at a quarter of the run, at most 30 s in). */
  saturatedBytes: number;
  /** RSS at the end of N minutes of saturation. */
  afterBytes: number;
  maxBytes: number;
  /** Throughput over the whole N minutes (a leak or a stall would show here too). */
  itemsPerSecond: number;
  errors: number;
  /** [seconds since start, RSS bytes] every 5 s. */
  samples: [number, number][];
}

export async function memorySection(ctx: BenchContext): Promise<MemoryResult> {
  const { opts } = ctx;
  const bodies = scoreBodies(ctx.corpus.items, opts.batch);
  return withServer({}, async (s) => {
    await sleep(1000);
    const idleBytes = s.rssBytes();
    await warmUp(s.base, bodies);
    const seconds = opts.minutes * 60;
    const satAt = Math.min(30, seconds / 4);
    const samples: [number, number][] = [];
    const t0 = performance.now();
    const r = await runLoad({
      base: s.base,
      bodies,
      itemsPerBody: opts.batch,
      clients: opts.clients,
      seconds,
      sample: { everyMs: 5000, fn: () => void samples.push([(performance.now() - t0) / 1000, s.rssBytes()]) },
    });
    samples.push([(performance.now() - t0) / 1000, s.rssBytes()]);
    const saturated = samples.find(([t]) => t >= satAt) ?? samples[0]!;
    const res = {
      minutes: opts.minutes,
      idleBytes,
      saturatedBytes: saturated[1],
      afterBytes: samples[samples.length - 1]![1],
      maxBytes: Math.max(...samples.map(([, b]) => b)),
      itemsPerSecond: r.itemsPerSecond,
      errors: r.errors,
      samples,
    };
    const mb = (b: number) => (b / 2 ** 20).toFixed(0);
    ctx.log(`  RSS idle ${mb(res.idleBytes)} MiB, saturated ${mb(res.saturatedBytes)} MiB, after ${opts.minutes} min ${mb(res.afterBytes)} MiB (max ${mb(res.maxBytes)})`);
    return res;
  });
}
