// 9. Real size: for each checkpoint of --scale-models (built and imported once, then cached), the
// raw ONNX Runtime limit L at its best batch; the service with default settings (only MODEL_DIR):
// ready time, RSS at rest and under load, S, D(16), D(64), D(256) and a load of long items; and
// the same checkpoint served by transformers + FastAPI as OpenRLHF's serve_rm serves it.
import { backendOptions } from '../../src/core/runtime.js';
import type { Backend } from '../../src/infer/backend.js';
import { MALLOC_VARIABLES } from '../../src/util/malloc-threshold.js';
import { loadHhItems, type HhItem } from '../hh-data.js';
import type { BenchContext } from '../lib/context.js';
import { fixedBatches, loadCorpus, measureRate, rateOn, serviceEncoder, withBackend, type Corpus } from '../lib/limit.js';
import { answeredItems, bodyTokens, loadWindow, runLoad, scoreBodies, warmUp } from '../lib/load.js';
import { scrape } from '../lib/metrics.js';
import { ensureScaleModel, type QwenDims, type ScaleModel } from '../lib/scale-models.js';
import { envOf, startServer, withServer, type BenchServer } from '../lib/server.js';
import { pct, sleep } from '../lib/stats.js';
import { startTransformersServer } from '../lib/transformers-server.js';

/** One closed-loop load against one server. */
export interface ScaleLoad {
  name: string;
  clients: number;
  itemsPerRequest: number;
  /** Seconds of load before the window: one round (every client answered once) at the expected rate. */
  warmSeconds: number;
  /** The measured window: at least --scale-seconds and two rounds. */
  seconds: number;
  itemsPerSecond: number;
  /**
   * Items the server's model computed in the window (`reward_inferred_items_total`), per second;
   * null for a server without it. With few large answers per window (S at a few items/s) the
   * answered rate moves by a whole answer; this one counts every batch.
   */
  computedItemsPerSecond: number | null;
  /**
   * Tokens of the items answered in the window, per second. A window holds a few dozen items at
   * real size, not the items L ran, so tokens/s is the fair comparison with L (and the long load).
   */
  tokensPerSecond: number;
  /** Item tokens the server's model computed in the window (`reward_tokens_total{kind="real"}`), per second; null without it. */
  computedTokensPerSecond: number | null;
  /** Answers in the window. */
  requests: number;
  p50Ms: number;
  p99Ms: number;
  /** Answers other than 200 in the window, by status. */
  errors: Record<string, number>;
  /** Age of the oldest request still unanswered when the window closed (a starved one is in no latency). */
  oldestUnansweredMs: number;
  /** Highest RSS sampled every 200 ms over the whole load, warm-up included. */
  peakRssBytes: number;
  /**
   * S and D(64): raw ONNX Runtime at L's batch on exactly the items the window answered, right
   * after it. A window answers fewer of the long items than the corpus holds (they wait longest),
   * so L on the corpus's mix is not its peer on a machine where short items run faster per token.
   */
  limitSameItems?: { items: number; itemsPerSecond: number; tokensPerSecond: number };
}

/** One server process of one checkpoint and its loads. */
export interface ScaleServer {
  /** Spawn to the first 200 of its readiness probe. */
  readySeconds: number;
  /** RSS a second after ready, before any load. */
  restRssBytes: number;
  /** Highest of the loads' peaks. */
  peakRssBytes: number;
  loads: ScaleLoad[];
}

/** Everything measured on one checkpoint. */
export interface ScaleModelResult {
  name: string;
  /** Cache folder under bench/.cache/scale. */
  key: string;
  dims: QwenDims;
  params: number;
  /** model.onnx + model.onnx_data. */
  weightBytes: number;
  maxLength: number;
  /** 0 when the cache had it. */
  buildSeconds: number;
  importSeconds: number;
  /** The HH items as this model's service tokenizes them. */
  corpus: { items: number; meanTokens: number };
  /** Raw ONNX Runtime with the service's session setup, server stopped; the best batch is L. */
  limit: { workers: number; intraOpThreads: number; batch: number; itemsPerSecond: number; tokensPerSecond: number; byBatch: { batch: number; items: number; itemsPerSecond: number; tokensPerSecond: number }[] };
  /** The service; its `long` load is items of about 1,000 to 4,000 tokens; `malloc`: the glibc malloc variables its process runs with (null: unset). */
  service: ScaleServer & { malloc: Record<string, string | null>; long: { items: number; minTokens: number; maxTokens: number; meanTokens: number } };
  /** D(256) against a queue too small for it, every client retrying at once on each refusal. */
  storm: ScaleLoad & { settings: Record<string, string>; refusalsPerSecond: number };
  /** bench/scale/transformers_server.py (torch fp32, one forward per request). */
  transformers: ScaleServer & { about: string; parity: { items: number; maxAbsDelta: number } };
}

export interface ScaleResult {
  /** --scale-seconds: the shortest measured window. */
  minSeconds: number;
  models: ScaleModelResult[];
}

/** [name, clients, items per request] of the service's loads; the long one follows them. */
const SERVICE_LOADS = [
  ['S', 4, 16],
  ['D(16)', 16, 1],
  ['D(64)', 64, 1],
  ['D(256)', 256, 1],
] as const;
const TRANSFORMERS_LOADS = [SERVICE_LOADS[0], SERVICE_LOADS[2]] as const;
/** The loads compared with L on the items their window answered (the targets are S and D(64) ≥ 0.9 × L). */
const SAME_ITEMS_LOADS: readonly string[] = ['S', 'D(64)'];
/** Batch sizes tried for L; one costing over --scale-seconds for two batches is skipped (at least one runs). */
const L_BATCHES = [1, 4, 16, 64];
/**
 * Long items: HH dialogues joined up to each target, LONG_MIN to LONG_TOP tokens as the service
 * counts them, none over LONG_MAX.
 */
const LONG_MIN = 1000;
const LONG_TOP = 3800;
const LONG_MAX = 4096;
const LONG_ITEMS = 8;
const LONG_CLIENTS = 4;
/** Items scored by both servers, to check they serve the same model. */
const PARITY_ITEMS = 8;

const mib = (b: number) => `${(b / 2 ** 20).toLocaleString('en-US', { maximumFractionDigits: 0 })} MiB`;
const f = (x: number, d = 2) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

export async function scaleSection(ctx: BenchContext): Promise<ScaleResult> {
  const models: ScaleModelResult[] = [];
  for (const name of ctx.opts.scaleModels) models.push(await measureModel(ctx, await ensureScaleModel(name, ctx.log)));
  return { minSeconds: ctx.opts.scaleSeconds, models };
}

async function measureModel(ctx: BenchContext, m: ScaleModel): Promise<ScaleModelResult> {
  const { log } = ctx;
  const corpus = loadCorpus(m.modelDir, loadHhItems(), ctx.config);
  const folder = corpus.folder;
  if (folder.reward.maxLength < LONG_MAX) {
    throw new Error(`${m.name}: max_length ${folder.reward.maxLength} would cut the long items (up to ${LONG_MAX} tokens); remove ${m.modelDir} and import it with --max-length ${LONG_MAX} or more`);
  }
  const meanTokens = corpus.tokens / corpus.items.length;
  log(`  ${m.name}: ${f(m.params / 1e6, 1)} M parameters, ${mib(folder.weightBytes)} of weights, max_length ${folder.reward.maxLength}; ${corpus.items.length} HH items, ${f(meanTokens, 0)} tokens on average`);
  const long = longItems(corpus);
  const parityItems = corpus.items.slice(0, PARITY_ITEMS);
  const drain = scoreBodies(corpus.items, 1, 1)[0]!;
  const rowTokens = corpus.rows.map((r) => r.length);

  // L's session stays open through the service's loads, for L on the items of their windows.
  const { limit, service, serviceRewards } = await withBackend(backendOptions(ctx.config, folder), async (limitBackend) => {
    const limit = await measureLimit(ctx, m, corpus, limitBackend);
    // The service with its defaults: only MODEL_DIR is set.
    const t0 = performance.now();
    return withServer({ MODEL_DIR: m.modelDir }, async (server) => {
      const readySeconds = (performance.now() - t0) / 1000;
      const rest = await restRss(server);
      const malloc = Object.fromEntries(MALLOC_VARIABLES.map((v) => [v.env, envOf(server.proc.pid, v.env)]));
      log(`  ${m.name} service: ready in ${f(readySeconds, 1)} s, RSS at rest ${mib(rest)}, ${mallocText(malloc)}`);
      await warmUp(server.base, [drain], 1);
      const serviceRewards = await rewardsOf(server.base, parityItems);
      const loads: ScaleLoad[] = [];
      let rate = limit.itemsPerSecond;
      for (const [name, clients, per] of SERVICE_LOADS) {
        const sameItems = SAME_ITEMS_LOADS.includes(name) ? { backend: limitBackend, batch: limit.batch, rows: corpus.rows } : undefined;
        const l = await measureLoad(ctx, { who: `${m.name} service`, server, name, bodies: scoreBodies(corpus.items, per), tokens: bodyTokens(rowTokens, per), clients, per, rate, drain, counted: true, sameItems });
        loads.push(l);
        // The service's own rate sizes the loads after S.
        if (name === 'S' && l.itemsPerSecond > 0) rate = Math.min(rate, l.itemsPerSecond);
      }
      // One long item of about the mean length, timed alone, sizes the long load (attention grows faster than the length).
      const t = performance.now();
      await warmUp(server.base, scoreBodies([long.items[LONG_ITEMS >> 1]!], 1), 1);
      const longRate = Math.min((rate * meanTokens) / long.meanTokens, 1000 / (performance.now() - t));
      loads.push(await measureLoad(ctx, { who: `${m.name} service`, server, name: 'long', bodies: scoreBodies(long.items, 1), tokens: long.tokens, clients: LONG_CLIENTS, per: 1, rate: longRate, drain, counted: true }));
      const longInfo = { items: long.items.length, minTokens: long.minTokens, maxTokens: long.maxTokens, meanTokens: long.meanTokens };
      log(`  ${m.name} service long: ${longInfo.items} items of ${longInfo.minTokens}–${longInfo.maxTokens} tokens; peak RSS − weights ${mib(loads[loads.length - 1]!.peakRssBytes - folder.weightBytes)}`);
      const service: ScaleModelResult['service'] = { readySeconds, restRssBytes: rest, malloc, peakRssBytes: Math.max(...loads.map((l) => l.peakRssBytes)), loads, long: longInfo };
      return { limit, service, serviceRewards };
    });
  });
  const storm = await retryStorm(ctx, m, corpus.items, rowTokens, service.loads.find((l) => l.name === 'D(256)')!.itemsPerSecond, drain);

  // The same checkpoint in transformers, the service stopped.
  const t1 = performance.now();
  const tf = await startTransformersServer(m.checkpointDir, folder.reward.maxLength);
  let transformers: ScaleModelResult['transformers'];
  try {
    const readySeconds = (performance.now() - t1) / 1000;
    const rest = await restRss(tf);
    log(`  ${m.name} transformers: ready in ${f(readySeconds, 1)} s, RSS at rest ${mib(rest)}; ${tf.about}`);
    const t = performance.now();
    const theirs = await rewardsOf(tf.base, parityItems);
    // Its first forward, timed, sizes its first load (it may be far from L).
    let rate = Math.min(limit.itemsPerSecond, (1000 * parityItems.length) / (performance.now() - t));
    const maxAbsDelta = Math.max(...theirs.map((r, i) => Math.abs(r - serviceRewards[i]!)));
    log(`  ${m.name} transformers vs service rewards on ${parityItems.length} items: max |Δ| ${maxAbsDelta.toExponential(2)}`);
    const loads: ScaleLoad[] = [];
    for (const [name, clients, per] of TRANSFORMERS_LOADS) {
      const l = await measureLoad(ctx, { who: `${m.name} transformers`, server: tf, name, bodies: scoreBodies(corpus.items, per), tokens: bodyTokens(rowTokens, per), clients, per, rate, drain });
      loads.push(l);
      if (name === 'S' && l.itemsPerSecond > 0) rate = l.itemsPerSecond;
    }
    transformers = { readySeconds, restRssBytes: rest, peakRssBytes: Math.max(...loads.map((l) => l.peakRssBytes)), loads, about: tf.about, parity: { items: parityItems.length, maxAbsDelta } };
  } finally {
    await tf.stop();
  }

  const result: ScaleModelResult = {
    name: m.name,
    key: m.key,
    dims: m.dims,
    params: m.params,
    weightBytes: folder.weightBytes,
    maxLength: folder.reward.maxLength,
    buildSeconds: m.buildSeconds,
    importSeconds: m.importSeconds,
    corpus: { items: corpus.items.length, meanTokens },
    limit,
    service,
    storm,
    transformers,
  };
  log(`  ${m.name}: ${scaleRatios(result)}`);
  return result;
}

/** Settings under which D(256) overflows the queue: most clients are refused, and retry at once. */
export const STORM_SETTINGS = { MAX_QUEUE_ITEMS: '64', MAX_ITEMS_PER_REQUEST: '16' };

/**
 * What refusals cost: D(256) against a queue of 64 items, each client sending its next request as
 * soon as it is answered, 429 or not (a client retrying at once), against D(256) with defaults.
 */
async function retryStorm(ctx: BenchContext, m: ScaleModel, items: HhItem[], rowTokens: number[], rate: number, drain: string): Promise<ScaleModelResult['storm']> {
  const server = await startServer({ MODEL_DIR: m.modelDir, ...STORM_SETTINGS });
  try {
    await warmUp(server.base, [drain], 1);
    const settings = Object.entries(STORM_SETTINGS).map(([k, v]) => `${k}=${v}`).join(' ');
    const l = await measureLoad(ctx, { who: `${m.name} service (${settings})`, server, name: 'D(256) retrying', bodies: scoreBodies(items, 1), tokens: bodyTokens(rowTokens, 1), clients: 256, per: 1, rate, drain, counted: true });
    const refused = Object.values(l.errors).reduce((a, b) => a + b, 0);
    return { ...l, settings: STORM_SETTINGS, refusalsPerSecond: refused / l.seconds };
  } finally {
    await server.stop();
  }
}

/** The glibc malloc variables a process ran with, as one line (`NAME value`, or `NAME unset`). */
export function mallocText(malloc: Record<string, string | null>): string {
  return Object.entries(malloc).map(([k, v]) => `${k} ${v ?? 'unset'}`).join(', ');
}

/** S/L, D(64)/L (also against L on the items each window answered), D(64) against transformers' D(64) (items/s, then tokens/s), the storm, and RSS above the weights, in one line. */
export function scaleRatios(r: ScaleModelResult): string {
  const load = (s: ScaleServer, name: string) => s.loads.find((l) => l.name === name);
  const get = (s: ScaleServer, name: string) => load(s, name)?.itemsPerSecond ?? NaN;
  const tok = (s: ScaleServer, name: string) => load(s, name)?.tokensPerSecond ?? NaN;
  const computedTok = (name: string) => load(r.service, name)?.computedTokensPerSecond ?? NaN;
  const L = r.limit.itemsPerSecond;
  const Lt = r.limit.tokensPerSecond;
  const longPeak = r.service.loads.find((l) => l.name === 'long')?.peakRssBytes ?? NaN;
  const sameTok = (name: string) => load(r.service, name)?.limitSameItems?.tokensPerSecond ?? NaN;
  const vsL = (name: string) =>
    `${name}/L items ${f(get(r.service, name) / L, 3)}, tokens ${f(tok(r.service, name) / Lt, 3)} answered, ${f(computedTok(name) / Lt, 3)} computed, ${f(tok(r.service, name) / sameTok(name), 3)} against L on the items answered`;
  return [
    vsL('S'),
    vsL('D(64)'),
    `D(64)/transformers D(64) items ${f(get(r.service, 'D(64)') / get(r.transformers, 'D(64)'), 2)}, tokens ${f(tok(r.service, 'D(64)') / tok(r.transformers, 'D(64)'), 2)}`,
    `S/transformers S items ${f(get(r.service, 'S') / get(r.transformers, 'S'), 2)}, tokens ${f(tok(r.service, 'S') / tok(r.transformers, 'S'), 2)}`,
    `retry storm: D(256) retrying/D(256) items ${f(r.storm.itemsPerSecond / get(r.service, 'D(256)'), 3)}, tokens ${f(r.storm.tokensPerSecond / tok(r.service, 'D(256)'), 3)} (${f(r.storm.refusalsPerSecond, 1)} refusals/s)`,
    `peak RSS − weights: service ${mib(r.service.peakRssBytes - r.weightBytes)} (long items ${mib(longPeak - r.weightBytes)}), transformers ${mib(r.transformers.peakRssBytes - r.weightBytes)} (no long items)`,
  ].join('; ');
}

/** `n` rows spread evenly over `rows` (every k-th), so their lengths are distributed as the whole corpus's. */
function spreadRows(rows: readonly number[][], n: number): number[][] {
  return Array.from({ length: Math.min(n, rows.length) }, (_, i) => rows[Math.floor((i * rows.length) / Math.min(n, rows.length))]!);
}

/** L on `b` (the service's session setup): every batch size that fits the time, on items spread over the corpus, sorted by length within them. */
async function measureLimit(ctx: BenchContext, m: ScaleModel, corpus: Corpus, b: Backend): Promise<ScaleModelResult['limit']> {
  const { opts, log } = ctx;
  // A first rate sizes each try to about half of --scale-seconds: items one at a time, since one
  // batch of 8 at 0.6B ran so slowly that it sized L at 8 items.
  const probe = await measureRate(b, fixedBatches(corpus.rows.slice(0, 8), 1));
  const sizes = L_BATCHES.filter((batch, i) => i === 0 || (2 * batch) / probe <= opts.scaleSeconds);
  const byBatch: ScaleModelResult['limit']['byBatch'] = [];
  for (const batch of sizes) {
    const items = Math.min(corpus.rows.length, Math.max(2 * batch, Math.ceil((probe * opts.scaleSeconds) / 2 / batch) * batch));
    const rows = spreadRows(corpus.rows, items);
    const { itemsPerSecond, tokensPerSecond } = await rateOn(b, rows, batch);
    byBatch.push({ batch, items, itemsPerSecond, tokensPerSecond });
    log(`  ${m.name} L, batches of ${batch}: ${f(itemsPerSecond)} items/s, ${f(tokensPerSecond, 0)} tokens/s (${items} items)`);
  }
  const best = byBatch.reduce((a, x) => (x.tokensPerSecond > a.tokensPerSecond ? x : a));
  const { workers, intraOpThreads } = backendOptions(ctx.config, corpus.folder);
  log(`  ${m.name} L = ${f(best.itemsPerSecond)} items/s, ${f(best.tokensPerSecond, 0)} tokens/s at batch ${best.batch} (${workers} worker(s) × ${intraOpThreads} thread(s))`);
  return { workers, intraOpThreads, batch: best.batch, itemsPerSecond: best.itemsPerSecond, tokensPerSecond: best.tokensPerSecond, byBatch };
}

/**
 * LONG_ITEMS items of LONG_MIN to about LONG_TOP tokens: consecutive HH dialogues joined into one
 * prompt (as further turns), the last one's reply as the response. A dialogue that would take an
 * item past LONG_MAX is left out of it.
 */
function longItems(corpus: Corpus): { items: HhItem[]; tokens: number[]; minTokens: number; maxTokens: number; meanTokens: number } {
  const encode = serviceEncoder(corpus.folder);
  const items: HhItem[] = [];
  const tokens: number[] = [];
  let next = 0;
  for (let k = 0; k < LONG_ITEMS; k++) {
    const target = LONG_MIN + ((LONG_TOP - LONG_MIN) * k) / (LONG_ITEMS - 1);
    const turns: string[] = [];
    let item: HhItem | null = null;
    let n = 0;
    for (let tries = 0; n < target; tries++) {
      if (tries > corpus.items.length) throw new Error(`no HH dialogues make an item of ${target} tokens`);
      const hh = corpus.items[next++ % corpus.items.length]!;
      const candidate = { prompt: [...turns, hh.prompt].join('\n\nHuman: '), response: hh.response };
      const ids = encode(candidate);
      if (ids === null || ids.length > LONG_MAX) continue;
      item = candidate;
      n = ids.length;
      turns.push(`${hh.prompt}\n\nAssistant: ${hh.response}`);
    }
    items.push(item!);
    tokens.push(n);
  }
  return { items, tokens, minTokens: Math.min(...tokens), maxTokens: Math.max(...tokens), meanTokens: tokens.reduce((a, b) => a + b, 0) / tokens.length };
}

/** RSS a second after ready (the first second still settles allocations). */
async function restRss(s: BenchServer): Promise<number> {
  await sleep(1000);
  return s.rssBytes();
}

/** Rewards of `items` in one request. */
async function rewardsOf(base: string, items: readonly HhItem[]): Promise<number[]> {
  const r = await fetch(`${base}/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ items }) });
  if (r.status !== 200) throw new Error(`${base}/score answered ${r.status}: ${(await r.text()).slice(0, 200)}`);
  return ((await r.json()) as { rewards: number[] }).rewards;
}

/** One load of measureLoad. */
interface LoadSpec {
  /** Model and server, for the log. */
  who: string;
  server: BenchServer;
  name: string;
  bodies: string[];
  /** Tokens of each body's items. */
  tokens: number[];
  clients: number;
  /** Items per request. */
  per: number;
  /** Expected items/s, which sizes the warm-up and the window. */
  rate: number;
  /** A one-item body sent once after the load (see measureLoad). */
  drain: string;
  /** The server exports reward_inferred_items_total (the service does, transformers does not). */
  counted?: boolean;
  /** After the load, L on `backend` in batches of `batch` on the items the window answered (`rows`: token ids of each corpus item). */
  sameItems?: { backend: Backend; batch: number; rows: readonly number[][] } | undefined;
}

/**
 * A closed loop of `clients`, each request `per` items, sized by the expected rate (`loadWindow`,
 * --scale-seconds, --scale-round-cap); requests still in flight at its end are cut. Then one
 * request, awaited: a server that keeps computing the cut requests (transformers does; the
 * service drops those still queued) finishes them before the next load starts.
 */
async function measureLoad(ctx: BenchContext, { who, server: s, name, bodies, tokens, clients, per, rate, drain, counted = false, sameItems }: LoadSpec): Promise<ScaleLoad> {
  const { warmSeconds, seconds } = loadWindow(clients * per, rate, ctx.opts.scaleSeconds, ctx.opts.scaleRoundCap);
  ctx.log(`  ${who} ${name} (${clients} × ${per}): ${f(warmSeconds, 0)} s warm-up, ${f(seconds, 0)} s measured…`);
  let peak = 0;
  const computed: Record<'start' | 'end', { at: number; items: number; tokens: number }> = { start: { at: NaN, items: NaN, tokens: NaN }, end: { at: NaN, items: NaN, tokens: NaN } };
  const r = await runLoad({
    base: s.base,
    bodies,
    itemsPerBody: per,
    tokensPerBody: tokens,
    clients,
    warmSeconds,
    seconds,
    cutAtEnd: true,
    ...(counted && {
      atWindow: async (edge: 'start' | 'end') => {
        const at = performance.now();
        const m = await scrape(s.base);
        computed[edge] = { at, items: m.total('reward_inferred_items_total'), tokens: m.total('reward_tokens_total', 'kind="real"') };
      },
    }),
    sample: {
      everyMs: 200,
      fn: () => {
        const b = s.rssBytes();
        if (b > peak) peak = b;
      },
    },
  });
  const load: ScaleLoad = {
    name,
    clients,
    itemsPerRequest: per,
    warmSeconds,
    seconds,
    itemsPerSecond: r.itemsPerSecond,
    computedItemsPerSecond: counted ? (computed.end.items - computed.start.items) / ((computed.end.at - computed.start.at) / 1000) : null,
    tokensPerSecond: r.tokensPerSecond,
    computedTokensPerSecond: counted ? (computed.end.tokens - computed.start.tokens) / ((computed.end.at - computed.start.at) / 1000) : null,
    requests: r.requests,
    p50Ms: pct(r.latencies, 50),
    p99Ms: pct(r.latencies, 99),
    errors: r.statuses,
    oldestUnansweredMs: r.oldestUnansweredMs,
    peakRssBytes: peak,
  };
  const errors = Object.entries(load.errors).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none';
  const t = performance.now();
  await warmUp(s.base, [drain], 1);
  const drained = (performance.now() - t) / 1000;
  ctx.log(
    `  ${who} ${name}: ${f(load.itemsPerSecond)} items/s${load.computedItemsPerSecond === null ? '' : ` (${f(load.computedItemsPerSecond)} computed)`}, ${f(load.tokensPerSecond, 0)} tokens/s${load.computedTokensPerSecond === null ? '' : ` (${f(load.computedTokensPerSecond, 0)} computed)`}, p50 ${f(load.p50Ms, 0)} ms, p99 ${f(load.p99Ms, 0)} ms (${load.requests} answers), non-200 ${errors}, oldest unanswered ${f(load.oldestUnansweredMs, 0)} ms, peak RSS ${mib(load.peakRssBytes)}; drained in ${f(drained, 1)} s`,
  );
  if (sameItems && r.answered.length > 0) {
    const rows = answeredItems(r, sameItems.rows, per);
    const same = { items: rows.length, ...(await rateOn(sameItems.backend, rows, sameItems.batch)) };
    load.limitSameItems = same;
    ctx.log(`  ${who} ${name}: L on the ${rows.length} items it answered, batches of ${sameItems.batch}: ${f(same.itemsPerSecond)} items/s, ${f(same.tokensPerSecond, 0)} tokens/s`);
  }
  return load;
}
