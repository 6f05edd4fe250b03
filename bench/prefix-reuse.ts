// Prefix reuse, on vs off in one run (issue 24):
//   npm run bench:prefix -- [--models 100m,0.6b] [--seconds 60] [--prompt-tokens 1000] [--response-tokens 100] [--groups 2]
// For each shape of the real-size bench (bench/lib/scale-models.ts, imported with --prefix-graphs
// into its own cached folder), two servers in turn, PREFIX_REUSE=auto then off, everything else
// default. On each:
//   grpo  — `--groups` loops, each sending a group of 8 one-item /score requests together (one
//           prompt of about --prompt-tokens tokens, 8 responses of about --response-tokens) and
//           the next group, on a new prompt, once all 8 are answered;
//   rank  — `--groups` loops of one /rank request (a new prompt, 8 responses);
//   plain — D(16) of HH items (one-item requests, no shared prompts): what reuse costs traffic
//           that has nothing to share.
// Items/s over a window of at least --seconds after one round of warm-up; p50/p99 per request;
// non-200 answers; the prefix metrics (hits, misses, reused tokens, the highest
// reward_prefix_cache_bytes sampled, against PREFIX_CACHE_MB) and peak RSS. Every group prompt is
// new, so the cache fills and evicts. Then the same 16 group items scored on both servers: max |Δ|.
// Prints the figures and writes bench/results/<date>-prefix.json.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { readModelFolder } from '../src/model/model-folder.js';
import { projectRoot } from '../src/util/project-root.js';
import { loadHhItems, type HhItem } from './hh-data.js';
import { serviceEncoder } from './lib/limit.js';
import { runLoad, scoreBodies } from './lib/load.js';
import { scrape } from './lib/metrics.js';
import { ensureScaleModel } from './lib/scale-models.js';
import { rssOf, startServer, type BenchServer } from './lib/server.js';
import { pct, sleep } from './lib/stats.js';

const { values: a } = parseArgs({
  options: {
    models: { type: 'string', default: '100m,0.6b' },
    seconds: { type: 'string', default: '60' },
    'prompt-tokens': { type: 'string', default: '1000' },
    'response-tokens': { type: 'string', default: '100' },
    groups: { type: 'string', default: '2' },
  },
});
const SECONDS = Number(a.seconds);
const PROMPT_TOKENS = Number(a['prompt-tokens']);
const RESPONSE_TOKENS = Number(a['response-tokens']);
const GROUPS = Number(a.groups);
const GROUP_SIZE = 8;
const t0 = performance.now();
const log = (line: string) => console.log(`[${String(Math.round((performance.now() - t0) / 1000)).padStart(5)} s] ${line}`);
const f = (x: number, d = 2) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const mib = (b: number) => `${f(b / 2 ** 20, 0)} MiB`;

/** A prompt and its 8 responses. */
interface Group {
  prompt: string;
  responses: string[];
}

/**
 * Groups of HH text (never printed): each prompt joins HH dialogues as earlier turns until it has
 * about PROMPT_TOKENS tokens; each response joins HH replies up to about RESPONSE_TOKENS.
 */
function makeGroups(modelDir: string, n: number): Group[] {
  const folder = readModelFolder(modelDir, loadConfig({ MODEL_DIR: modelDir }, []));
  const encode = serviceEncoder(folder);
  const hh = loadHhItems();
  const len = (item: HhItem) => encode(item)?.length ?? Infinity;
  let next = 0;
  const take = () => hh[next++ % hh.length]!;
  const groups: Group[] = [];
  for (let g = 0; g < n; g++) {
    const turns: string[] = [];
    let prompt = take().prompt;
    while (len({ prompt, response: '' }) < PROMPT_TOKENS) {
      const d = take();
      turns.push(`${d.prompt}\n\nAssistant: ${d.response}`);
      prompt = [...turns, take().prompt].join('\n\nHuman: ');
    }
    const base = len({ prompt, response: '' });
    const responses = Array.from({ length: GROUP_SIZE }, () => {
      let r = take().response;
      while (len({ prompt, response: r }) - base < RESPONSE_TOKENS) r = `${r} ${take().response}`;
      return r;
    });
    groups.push({ prompt, responses });
  }
  return groups;
}

interface Load {
  name: string;
  seconds: number;
  items: number;
  itemsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non200: number;
}

/** POST over node:http: fetch gives up on headers after 300 s, and at 0.6B one group without reuse can take longer. */
function postJson(base: string, route: string, body: unknown): Promise<{ status: number; json: { rewards?: number[] } }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${route}`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as { rewards?: number[] } }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}
const agent = new http.Agent({ keepAlive: true });

/**
 * `GROUPS` closed loops of `round` (one group's requests, resolving to the items answered 200 and
 * the non-200 count), each on new groups; one round of warm-up, then at least SECONDS.
 */
async function groupLoad(name: string, round: (g: Group) => Promise<{ latencies: number[]; items: number; non200: number }>, groups: Group[]): Promise<Load> {
  let next = 0;
  const warm = await round(groups[next++ % groups.length]!);
  if (warm.non200 > 0) throw new Error(`${name}: warm-up answered ${warm.non200} non-200`);
  const from = performance.now();
  const end = from + SECONDS * 1000;
  let items = 0;
  let non200 = 0;
  const latencies: number[] = [];
  let last = from;
  await Promise.all(
    Array.from({ length: GROUPS }, async () => {
      while (performance.now() < end) {
        const r = await round(groups[next++ % groups.length]!);
        items += r.items;
        non200 += r.non200;
        latencies.push(...r.latencies);
        last = Math.max(last, performance.now());
      }
    }),
  );
  const seconds = (last - from) / 1000;
  return { name, seconds, items, itemsPerSecond: items / seconds, p50Ms: pct(latencies, 50), p99Ms: pct(latencies, 99), non200 };
}

/** A GRPO group: 8 one-item /score requests at once. */
function grpoRound(base: string) {
  return async (g: Group) => {
    const latencies: number[] = [];
    const out = await Promise.all(
      g.responses.map(async (response) => {
        const s = performance.now();
        const r = await postJson(base, '/score', { items: [{ prompt: g.prompt, response }] });
        latencies.push(performance.now() - s);
        return r.status;
      }),
    );
    const ok = out.filter((s) => s === 200).length;
    return { latencies, items: ok, non200: out.length - ok };
  };
}

/** Best-of-n: one /rank request of 8 responses. */
function rankRound(base: string) {
  return async (g: Group) => {
    const s = performance.now();
    const r = await postJson(base, '/rank', { prompt: g.prompt, responses: g.responses });
    return { latencies: [performance.now() - s], items: r.status === 200 ? GROUP_SIZE : 0, non200: r.status === 200 ? 0 : 1 };
  };
}

interface ServerResult {
  reuse: string;
  loads: Load[];
  prefix: { hits: number; misses: number; reusedTokens: number; evictions: number; maxCacheBytes: number; boundBytes: number };
  peakRssBytes: number;
  rewards: number[];
}

async function measureServer(modelDir: string, reuse: 'auto' | 'off', groups: Group[], check: Group[], hh: HhItem[]): Promise<ServerResult> {
  const server: BenchServer = await startServer({ MODEL_DIR: modelDir, PREFIX_REUSE: reuse });
  let peak = 0;
  let maxCache = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, rssOf(server.proc.pid));
      maxCache = Math.max(maxCache, (await scrape(server.base)).total('reward_prefix_cache_bytes'));
      await sleep(500);
    }
  })();
  try {
    const before = await scrape(server.base);
    // The check items first, one group per /score request, on a cold cache.
    const rewards: number[] = [];
    for (const g of check) rewards.push(...(await postJson(server.base, '/score', { items: g.responses.map((response) => ({ prompt: g.prompt, response })) })).json.rewards!);
    const loads: Load[] = [];
    for (const [name, round] of [['grpo', grpoRound(server.base)], ['rank', rankRound(server.base)]] as const) {
      const l = await groupLoad(name, round, groups);
      log(`    reuse ${reuse} ${name}: ${f(l.itemsPerSecond)} items/s, p50 ${f(l.p50Ms, 0)} ms, p99 ${f(l.p99Ms, 0)} ms, non-200 ${l.non200} (${l.items} items in ${f(l.seconds, 0)} s)`);
      loads.push(l);
    }
    const plain = await runLoad({ base: server.base, bodies: scoreBodies(hh, 1), itemsPerBody: 1, clients: 16, warmSeconds: 10, seconds: SECONDS, cutAtEnd: true });
    const non200 = Object.values(plain.statuses).reduce((x, y) => x + y, 0);
    loads.push({ name: 'plain D(16)', seconds: plain.seconds, items: plain.items, itemsPerSecond: plain.itemsPerSecond, p50Ms: pct(plain.latencies, 50), p99Ms: pct(plain.latencies, 99), non200 });
    log(`    reuse ${reuse} plain D(16): ${f(plain.itemsPerSecond)} items/s, p50 ${f(pct(plain.latencies, 50), 0)} ms, p99 ${f(pct(plain.latencies, 99), 0)} ms, non-200 ${non200}`);
    const after = await scrape(server.base);
    const d = (name: string, labels?: string) => after.total(name, labels) - before.total(name, labels);
    const config = loadConfig({ MODEL_DIR: modelDir }, []);
    return {
      reuse,
      loads,
      prefix: {
        hits: d('reward_prefix_cache_lookups_total', 'result="hit"'),
        misses: d('reward_prefix_cache_lookups_total', 'result="miss"'),
        reusedTokens: d('reward_prefix_reused_tokens_total'),
        evictions: d('reward_prefix_cache_evictions_total'),
        maxCacheBytes: maxCache,
        boundBytes: config.prefixCacheMb * 2 ** 20,
      },
      peakRssBytes: peak,
      rewards,
    };
  } finally {
    sampling = false;
    await sampler;
    await server.stop();
  }
}

const results: unknown[] = [];
for (const name of a.models.split(',').map((x) => x.trim())) {
  const m = await ensureScaleModel(name, log, { prefixGraphs: true });
  const all = makeGroups(m.modelDir, 2 + 400);
  const [check, groups] = [all.slice(0, 2), all.slice(2)];
  const hh = loadHhItems();
  log(`  ${name}: ${groups.length} groups of ${GROUP_SIZE}, prompts of about ${PROMPT_TOKENS} tokens, responses of about ${RESPONSE_TOKENS}`);
  const on = await measureServer(m.modelDir, 'auto', groups, check, hh);
  const off = await measureServer(m.modelDir, 'off', groups, check, hh);
  const maxAbsDelta = Math.max(...on.rewards.map((r, i) => Math.abs(r - off.rewards[i]!)));
  const ratio = (load: string) => on.loads.find((l) => l.name === load)!.itemsPerSecond / off.loads.find((l) => l.name === load)!.itemsPerSecond;
  const p = on.prefix;
  log(
    `  ${name}: on/off grpo ×${f(ratio('grpo'))}, rank ×${f(ratio('rank'))}, plain D(16) ×${f(ratio('plain D(16)'), 3)}; rewards on vs off max |Δ| ${maxAbsDelta.toExponential(2)} (${on.rewards.length} items); ` +
      `hits ${p.hits}, misses ${p.misses}, reused ${p.reusedTokens} tokens, evictions ${p.evictions}, cache at most ${mib(p.maxCacheBytes)} of ${mib(p.boundBytes)}; peak RSS on ${mib(on.peakRssBytes)}, off ${mib(off.peakRssBytes)}`,
  );
  results.push({ model: name, key: m.key, promptTokens: PROMPT_TOKENS, responseTokens: RESPONSE_TOKENS, groups: GROUPS, seconds: SECONDS, on, off, maxAbsDelta });
}
const file = path.join(projectRoot(), 'bench', 'results', `${new Date().toISOString().slice(0, 16).replace(/[-:]/g, '').replace(/^(\d{8})T/, (_, d: string) => `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}T`)}-prefix.json`);
fs.writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), command: `npm run bench:prefix -- ${process.argv.slice(2).join(' ')}`, node: process.version, results }, null, 1) + '\n');
log(`wrote ${path.relative(projectRoot(), file)}`);
