// Paired comparisons, for ratios this machine's drift hides when their two sides run minutes apart
// (issues 21 and 24):
//   npm run bench:paired -- [--model 0.6b] [--pairs s-l,d64-l,storm-d64,plain,distinct,aa] [--rounds 3] [--seconds 60] [--round-cap 40] [--env NAME=VALUE]…
// Each pair runs its two sides back to back, --rounds times; the figure is the ratio within each
// round (its median, min and max), never one side's mean over another's.
//   s-l, d64-l — the service with its defaults under S (4 × 16) or D(64) (one-item clients),
//                then raw ONNX Runtime in this process (the service's own session setup, batches
//                of --l-batch sorted by length, no HTTP) on exactly the items the service answered in that window:
//                service tokens/s ÷ L tokens/s. A window answers fewer of the long items than the
//                corpus holds (they wait longest), so L on the corpus's mix is not its peer.
//   storm-d64  — one server with MAX_QUEUE_ITEMS=64, under D(64) (its queue just full, no refusal)
//                and under 256 clients that resend at once on every 429: the ratio is what the
//                refusals cost. Sides alternate (A B, B A, …), on one server process so that only
//                the clients differ.
//   plain      — PREFIX_REUSE=auto and off, side by side, under D(16) of HH items (one-item
//                requests, nothing shared on purpose): what reuse costs traffic that has little to
//                share: HH pairs share their prompt, so some rows do group. Serves the
//                --prefix-graphs folder (built by npm run bench:prefix).
//   distinct   — the same with one item per HH prompt: traffic with no shared prompt, where
//                reuse can only cost.
//   aa         — two server processes of the same settings (defaults) side by side under D(16):
//                how far two processes of one model differ, the resolution of the pairs that
//                need two servers (plain, distinct).
// Each server first runs its load once unmeasured (a fresh server's first seconds at saturation
// run slower). Windows: one round of warm-up and at least two rounds and --seconds measured (load.ts
// loadWindow), a round capped at --round-cap; requests in flight at the end are cut and one
// request awaited before the other side starts. Prints the figures and writes
// bench/results/<date>-paired.json.
// First import: L runs in this process, so it gets the malloc settings the service starts with.
import '../src/util/malloc-env.js';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { backendOptions } from '../src/core/runtime.js';
import type { Backend } from '../src/infer/backend.js';
import { projectRoot } from '../src/util/project-root.js';
import { loadHhItems, type HhItem } from './hh-data.js';
import { cpuMeter, type Cores } from './lib/cpu.js';
import { loadCorpus, rateOn, withBackend, type Corpus } from './lib/limit.js';
import { answeredItems, bodyTokens, loadWindow, runLoad, scoreBodies, warmUp } from './lib/load.js';
import { delta, scrape, type Scrape } from './lib/metrics.js';
import { ensureScaleModel } from './lib/scale-models.js';
import { STORM_SETTINGS } from './sections/scale.js';
import { startServer, type BenchServer } from './lib/server.js';
import { spread, type Spread } from './lib/stats.js';

const PAIRS = ['s-l', 'd64-l', 'storm-d64', 'plain', 'distinct', 'aa'] as const;
type PairName = (typeof PAIRS)[number];
const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: '0.6b' },
    pairs: { type: 'string', default: PAIRS.join(',') },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '60' },
    'round-cap': { type: 'string', default: '40' },
    'l-batch': { type: 'string', default: '1' },
    env: { type: 'string', multiple: true, default: [] },
  },
});
const pairs = a.pairs.split(',') as PairName[];
for (const p of pairs) if (!PAIRS.includes(p)) throw new Error(`--pairs: unknown pair ${p} (pairs: ${PAIRS.join(', ')})`);
const ROUNDS = Number(a.rounds);
const SECONDS = Number(a.seconds);
const ROUND_CAP = Number(a['round-cap']);
const L_BATCH = Number(a['l-batch']);
/** --env NAME=VALUE (repeatable): a setting every server of the run starts with. */
const EXTRA_ENV = Object.fromEntries(a.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));

const t0 = performance.now();
const log = (line: string) => console.log(`[${String(Math.round((performance.now() - t0) / 1000)).padStart(5)} s] ${line}`);
const f = (x: number, d = 2) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

/** One side of one round. */
interface Side {
  itemsPerSecond: number;
  tokensPerSecond: number;
  /** Answers other than 200, by status. */
  errors: Record<number, number>;
  seconds: number;
  /** A server side: where the CPU went over the window, in cores (the load client runs on the same cores). */
  cores?: Cores;
}

/** One round of a pair: the ratio is `second / first` in tokens/s. */
interface Round {
  first: Side;
  second: Side;
  ratio: number;
}

/** A pair's rounds and the spread of their ratios. */
interface PairResult {
  name: PairName;
  first: string;
  second: string;
  rounds: Round[];
  ratio: Spread;
}

/** A closed loop of `clients` one-item or `per`-item requests on `s`, cut at the window's end, then drained. */
async function load(s: BenchServer, corpus: Corpus, clients: number, per: number, rate: number) {
  const bodies = scoreBodies(corpus.items, per);
  const { warmSeconds, seconds } = loadWindow(clients * per, rate, SECONDS, ROUND_CAP);
  let before: Scrape;
  let meter: ReturnType<typeof cpuMeter>;
  let cores: Cores | undefined;
  const atWindow = async (edge: 'start' | 'end') => {
    if (edge === 'start') [before, meter] = [await scrape(s.base), cpuMeter(s)];
    else cores = meter(delta(before, await scrape(s.base)));
  };
  const r = await runLoad({ base: s.base, bodies, itemsPerBody: per, tokensPerBody: bodyTokens(corpus.rows.map((x) => x.length), per), clients, warmSeconds, seconds, cutAtEnd: true, atWindow });
  await warmUp(s.base, scoreBodies(corpus.items.slice(0, 1), 1), 1);
  const side: Side = { itemsPerSecond: r.itemsPerSecond, tokensPerSecond: r.tokensPerSecond, errors: r.statuses, seconds: r.seconds, ...(cores && { cores }) };
  return { side, rows: answeredItems(r, corpus.rows, per) };
}

/** L on exactly `rows`, sorted by length in batches of --l-batch (1: L's best at 0.6B), the service's session setup. */
async function limitOn(backend: Backend, rows: number[][]): Promise<Side> {
  const rate = await rateOn(backend, rows, L_BATCH);
  return { ...rate, errors: {}, seconds: rows.length / rate.itemsPerSecond };
}

const coresText = (c: Cores) => `cores: server ${f(c.server)} (main ${f(c.main)}, infer ${f(c.infer)}, tokenize ${f(c.tokenize)}), client ${f(c.client)}`;
const sideText = (s: Side) => `${f(s.itemsPerSecond)} items/s, ${f(s.tokensPerSecond, 0)} tokens/s${Object.keys(s.errors).length ? `, non-200 ${JSON.stringify(s.errors)}` : ''}${s.cores ? ` (${coresText(s.cores)})` : ''}`;

async function runPair(name: PairName, first: string, second: string, round: (r: number) => Promise<[Side, Side]>): Promise<PairResult> {
  const rounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const [x, y] = await round(r);
    rounds.push({ first: x, second: y, ratio: y.tokensPerSecond / x.tokensPerSecond });
    log(`${name} round ${r + 1}: ${first} ${sideText(x)}; ${second} ${sideText(y)}; ${second}/${first} ${f(y.tokensPerSecond / x.tokensPerSecond, 3)}`);
  }
  const ratio = spread(rounds.map((x) => x.ratio));
  log(`${name}: ${second}/${first} tokens/s median ${f(ratio.median, 3)} (min ${f(ratio.min, 3)}, max ${f(ratio.max, 3)}, ${ROUNDS} rounds)`);
  return { name, first, second, rounds, ratio };
}

/** The service under `clients` × `per`, then L on the items it answered, each round. */
async function serviceVsLimit(name: PairName, modelDir: string, corpus: Corpus, clients: number, per: number): Promise<PairResult> {
  const config = loadConfig({ MODEL_DIR: modelDir }, []);
  return withBackend(backendOptions(config, corpus.folder), async (backend) => {
    const s = await startServer({ ...EXTRA_ENV, MODEL_DIR: modelDir });
    try {
      await warmUp(s.base, scoreBodies(corpus.items, 1), 4);
      let rate = (await limitOn(backend, corpus.rows.slice(0, 8))).itemsPerSecond;
      rate = (await load(s, corpus, clients, per, rate)).side.itemsPerSecond || rate;
      return await runPair(name, 'L', 'service', async () => {
        const { side, rows } = await load(s, corpus, clients, per, rate);
        rate = side.itemsPerSecond;
        return [await limitOn(backend, rows), side];
      });
    } finally {
      await s.stop();
    }
  });
}

/** One side of `sideBySide`: one-item clients against a server started with `env`. */
interface LoadSide {
  label: string;
  env: Record<string, string>;
  clients: number;
}

/**
 * Both sides' servers up at once (one server when both sides have the same settings); each round
 * runs both sides, in alternating order.
 */
async function sideBySide(name: PairName, sides: [LoadSide, LoadSide], corpus: Corpus): Promise<PairResult> {
  const servers: BenchServer[] = [];
  try {
    servers.push(await startServer({ ...EXTRA_ENV, ...sides[0].env }));
    servers.push(JSON.stringify(sides[1].env) === JSON.stringify(sides[0].env) ? servers[0]! : await startServer({ ...EXTRA_ENV, ...sides[1].env }));
    const rate = [NaN, NaN];
    for (const [i, s] of servers.entries()) {
      const t = performance.now();
      await warmUp(s.base, scoreBodies(corpus.items, 1), 4);
      rate[i] = 4000 / (performance.now() - t);
      rate[i] = (await load(s, corpus, sides[i]!.clients, 1, rate[i]!)).side.itemsPerSecond || rate[i]!;
    }
    return await runPair(name, sides[0].label, sides[1].label, async (r) => {
      const out: Side[] = [];
      for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
        const { side } = await load(servers[i]!, corpus, sides[i]!.clients, 1, rate[i]!);
        if (side.itemsPerSecond > 0) rate[i] = side.itemsPerSecond;
        out[i] = side;
      }
      return [out[0]!, out[1]!];
    });
  } finally {
    for (const s of new Set(servers)) await s.stop();
  }
}

/** The first item of each prompt. */
function onePerPrompt(items: readonly HhItem[]): HhItem[] {
  const seen = new Set<string>();
  return items.filter((it) => !seen.has(it.prompt) && seen.add(it.prompt));
}

const results: PairResult[] = [];
const hh = loadHhItems();
const reusePairs: readonly PairName[] = ['plain', 'distinct'];
const plainModel = pairs.some((p) => !reusePairs.includes(p)) ? await ensureScaleModel(a.model, log) : null;
const prefixModel = pairs.some((p) => reusePairs.includes(p)) ? await ensureScaleModel(a.model, log, { prefixGraphs: true }) : null;
for (const p of pairs) {
  const dir = reusePairs.includes(p) ? prefixModel!.modelDir : plainModel!.modelDir;
  const corpus = loadCorpus(dir, p === 'distinct' ? onePerPrompt(hh) : hh, loadConfig({ MODEL_DIR: dir }, []));
  log(`${p} on ${a.model} (${dir}): ${corpus.items.length} HH items, ${f(corpus.tokens / corpus.items.length, 0)} tokens on average`);
  if (p === 's-l') results.push(await serviceVsLimit(p, dir, corpus, 4, 16));
  if (p === 'd64-l') results.push(await serviceVsLimit(p, dir, corpus, 64, 1));
  if (p === 'storm-d64') {
    const env = { MODEL_DIR: dir, ...STORM_SETTINGS };
    results.push(await sideBySide(p, [{ label: 'D(64)', env, clients: 64 }, { label: 'D(256) retrying', env, clients: 256 }], corpus));
  }
  if (p === 'aa') {
    // BENCH_SIDE only tells the two processes apart (the server reads no such setting).
    results.push(await sideBySide(p, [{ label: 'server A', env: { MODEL_DIR: dir, BENCH_SIDE: 'a' }, clients: 16 }, { label: 'server B', env: { MODEL_DIR: dir, BENCH_SIDE: 'b' }, clients: 16 }], corpus));
  }
  if (reusePairs.includes(p)) {
    results.push(await sideBySide(p, [{ label: 'reuse off', env: { MODEL_DIR: dir, PREFIX_REUSE: 'off' }, clients: 16 }, { label: 'reuse on', env: { MODEL_DIR: dir, PREFIX_REUSE: 'auto' }, clients: 16 }], corpus));
  }
}

const stamp = new Date().toISOString().slice(0, 16).replace(':', '');
const file = path.join(projectRoot(), 'bench', 'results', `${stamp}-paired.json`);
fs.writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), command: `npm run bench:paired -- ${process.argv.slice(2).join(' ')}`, node: process.version, model: a.model, results }, null, 1) + '\n');
log(`wrote ${path.relative(projectRoot(), file)}`);
