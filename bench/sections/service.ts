// 2. Service S over HTTP at client batch 64, saturated; from the same runs 4. padding
// efficiency, 5. /health/live latency, 6. the share of request time spent tokenizing, and RSS;
// then S with the over-optimization watch off and on (WATCH), in alternating runs.
import type { BenchContext } from '../lib/context.js';
import { CORE_KEYS, cpuMeter, type Cores } from '../lib/cpu.js';
import { runLoad, scoreBodies, warmLoad, warmUp, WARM_SECONDS } from '../lib/load.js';
import { delta, scrape } from '../lib/metrics.js';
import { withServer } from '../lib/server.js';
import { RewardWatch } from '../../src/watch/reward-watch.js';
import { pct, repeat, spread, spreadOf, type Spread } from '../lib/stats.js';

export interface ServiceResult {
  clients: number;
  batch: number;
  seconds: number;
  itemsPerSecond: Spread;
  p50Ms: Spread;
  p99Ms: Spread;
  /** Real tokens / computed tokens (padding included), from reward_tokens_total. */
  padding: Spread;
  healthP50Ms: Spread;
  healthP99Ms: Spread;
  /** Server-side event-loop delay p99 (prom-client's monitor), ms. */
  loopP99Ms: Spread;
  /** reward_tokenization_duration_seconds / reward_http_request_duration_seconds{route="/score"}. */
  tokenizeShare: Spread;
  rssIdleBytes: number;
  /** Highest RSS sampled during each run. */
  rssSaturatedBytes: Spread;
  /** Where the CPU goes while saturated (see Cores). */
  cores?: Record<keyof Cores, Spread>;
  errors: number;
  /** The same measurement with the other tokenizer library (TOKENIZER_LIBRARY), run right after. */
  otherLibrary?: Pick<ServiceResult, 'itemsPerSecond' | 'p50Ms' | 'p99Ms' | 'healthP99Ms' | 'tokenizeShare' | 'padding' | 'cores' | 'errors'> & { setting: string };
  /** S with WATCH=false and WATCH=true, one fresh server per run, the two alternating. */
  watch?: WatchCost;
}

/** What the over-optimization watch costs. */
export interface WatchCost {
  off: Spread;
  on: Spread;
  /** on/off of each adjacent pair of runs (the machine's load drifts less within a pair). */
  pairRatio: Spread;
  /** ns per item of RewardWatch.record in this process (window 1000, batches of 64). */
  recordNsPerItem: number;
}

export async function serviceSection(ctx: BenchContext): Promise<ServiceResult> {
  const main = await measureService(ctx, {});
  const setting = `TOKENIZER_LIBRARY=${ctx.config.tokenizerLibrary === 'rust' ? 'huggingface' : 'rust'}`;
  ctx.log(`  again with ${setting}`);
  const other = await measureService(ctx, { TOKENIZER_LIBRARY: setting.split('=')[1]! });
  const { itemsPerSecond, p50Ms, p99Ms, healthP99Ms, tokenizeShare, padding, cores, errors } = other;
  const watch = await watchCost(ctx);
  return { ...main, otherLibrary: { setting, itemsPerSecond, p50Ms, p99Ms, healthP99Ms, tokenizeShare, padding, cores, errors }, watch };
}

/** S with the watch off and on, alternating (off, on, on, off, …) so drift of a shared machine falls on both. */
async function watchCost(ctx: BenchContext): Promise<WatchCost> {
  const { opts } = ctx;
  const bodies = scoreBodies(ctx.corpus.items, opts.batch);
  const S: Record<'true' | 'false', number[]> = { true: [], false: [] };
  const ratios: number[] = [];
  let previous = 0;
  for (let i = 0; i < 2 * opts.repeats; i++) {
    const on = (i % 4 === 1 || i % 4 === 2) ? 'true' : 'false';
    const r = await withServer({ WATCH: on }, async (s) => {
      await warmUp(s.base, bodies);
      return runLoad({ base: s.base, bodies, itemsPerBody: opts.batch, clients: opts.clients, seconds: opts.seconds });
    });
    S[on].push(r.itemsPerSecond);
    if (i % 2 === 1) ratios.push(on === 'true' ? r.itemsPerSecond / previous : previous / r.itemsPerSecond);
    previous = r.itemsPerSecond;
    ctx.log(`  WATCH=${on}: S ${r.itemsPerSecond.toFixed(1)} items/s`);
  }
  // The per-item work itself, without HTTP: record() on a full window.
  const w = new RewardWatch('bench', 'model', { mean: 0, std: 1 }, { window: 1000, buckets: [-3, -2, -1, 0, 1, 2, 3] });
  const rewards = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i));
  const lengths = Int32Array.from({ length: 64 }, (_, i) => 100 + i);
  const n = 20_000;
  for (let i = 0; i < 2000; i++) w.record(rewards, lengths);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) w.record(rewards, lengths);
  const recordNsPerItem = ((performance.now() - t0) * 1e6) / (n * 64);
  ctx.log(`  RewardWatch.record: ${recordNsPerItem.toFixed(1)} ns per item`);
  return { off: spread(S.false), on: spread(S.true), pairRatio: spread(ratios), recordNsPerItem };
}

async function measureService(ctx: BenchContext, env: Record<string, string>): Promise<ServiceResult> {
  const { opts } = ctx;
  const bodies = scoreBodies(ctx.corpus.items, opts.batch);
  return withServer(env, async (s) => {
    const rssIdleBytes = s.rssBytes();
    await warmUp(s.base, bodies);
    await warmLoad({ base: s.base, bodies, itemsPerBody: opts.batch, clients: opts.clients, seconds: WARM_SECONDS });
    let errors = 0;
    const runs = await repeat(opts.repeats, async () => {
      const before = await scrape(s.base);
      const cpu = cpuMeter(s);
      let rss = 0;
      const r = await runLoad({
        base: s.base,
        bodies,
        itemsPerBody: opts.batch,
        clients: opts.clients,
        seconds: opts.seconds,
        healthEveryMs: 50,
        sample: { everyMs: 1000, fn: () => void (rss = Math.max(rss, s.rssBytes())) },
      });
      const after = await scrape(s.base);
      const d = delta(before, after);
      errors += r.errors;
      const run = {
        itemsPerSecond: r.itemsPerSecond,
        p50Ms: pct(r.latencies, 50),
        p99Ms: pct(r.latencies, 99),
        padding: d.total('reward_tokens_total', 'kind="real"') / d.total('reward_tokens_total', 'kind="computed"'),
        healthP50Ms: pct(r.health, 50),
        healthP99Ms: pct(r.health, 99),
        // prom-client samples the loop every 10 ms and records the whole interval: subtract it.
        loopP99Ms: after.get('reward_nodejs_eventloop_lag_p99_seconds') * 1000 - 10,
        tokenizeShare: d.total('reward_tokenization_duration_seconds_sum') / d.total('reward_http_request_duration_seconds_sum', 'route="/score"'),
        rssSaturatedBytes: rss,
        ...cpu(d),
      };
      ctx.log(`  S ${run.itemsPerSecond.toFixed(1)} items/s, p99 ${run.p99Ms.toFixed(0)} ms, padding ${run.padding.toFixed(3)}, /health/live p99 ${run.healthP99Ms.toFixed(1)} ms`);
      return run;
    });
    const keys = ['itemsPerSecond', 'p50Ms', 'p99Ms', 'padding', 'healthP50Ms', 'healthP99Ms', 'loopP99Ms', 'tokenizeShare', 'rssSaturatedBytes'] as const;
    const cores = spreadOf(runs, CORE_KEYS);
    return { clients: opts.clients, batch: opts.batch, seconds: opts.seconds, ...spreadOf(runs, keys), cores, rssIdleBytes, errors };
  });
}

