// Throughput of POST /score at client batch 64 on HH-length texts, the event-loop delay of the
// server while batches run, and the raw ONNX Runtime limit for the same items. Prints figures;
// asserts nothing (these machines are shared and noisy). One quick look; `npm run bench` is the
// full harness (repeats, spreads, RESULTS.md) built from the same pieces in bench/lib.
//
//   npm run bench:score -- [--seconds 20] [--clients 4] [--batch 64]   (server settings via env)
import fs from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Formatter } from '../src/format/format.js';
import { loadConfig } from '../src/config.js';
import { backendOptions, batchTokenBudget } from '../src/core/runtime.js';
import { TokenEncoder } from '../src/tokenize/token-encoder.js';
import { loadHhItems } from './hh-data.js';
import { fixedBatches, limitedBatches, loadCorpus, measureRate, withBackend } from './lib/limit.js';
import { runLoad, scoreBodies, warmUp } from './lib/load.js';
import { delta, scrape } from './lib/metrics.js';
import { withServer } from './lib/server.js';
import { pct } from './lib/stats.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    clients: { type: 'string', default: '4' },
    batch: { type: 'string', default: '64' },
  },
});
const SECONDS = Number(args.seconds);
const CLIENTS = Number(args.clients);
const BATCH = Number(args.batch);

const config = loadConfig(process.env);
const items = loadHhItems();
const corpus = loadCorpus(config.modelDir, items, config);
const folder = corpus.folder;

// L: the worker setup and limits the server will use, batches of BATCH sorted by length; L': cut
// at the service's own limits (size and size × longest), the rate the batcher can at best reach.
const [fixedRate, limitedRate] = await withBackend(
  backendOptions(config, folder),
  async (b) => [await measureRate(b, fixedBatches(corpus.rows, BATCH)), await measureRate(b, limitedBatches(corpus.rows, config.maxBatchSize, batchTokenBudget(config, folder)))],
);

// The stall tokenizing one client request would cause if it ran on the event loop.
const enc = new TokenEncoder(folder.tokenizerJson, folder.tokenizerConfig, folder.reward.maxLength);
const fmt = new Formatter(folder.reward.template);
const one = items.slice(0, BATCH).map((it) => fmt.format(it));
const t2 = performance.now();
for (const f of one) enc.encode(f, 'auto');
const stallMs = performance.now() - t2;

const S = await withServer({}, async (s) => {
  const bodies = scoreBodies(corpus.items, BATCH);
  await warmUp(s.base, bodies);
  const before = await scrape(s.base);
  const r = await runLoad({ base: s.base, bodies, itemsPerBody: BATCH, clients: CLIENTS, seconds: SECONDS, healthEveryMs: 50 });
  const after = await scrape(s.base);
  const d = delta(before, after);
  // prom-client samples the loop every 10 ms and records the whole interval: subtract it.
  const lagMs = (q: string) => after.get(`reward_nodejs_eventloop_lag_${q}_seconds`) * 1000 - 10;
  return { ...r, lag: { p50: lagMs('p50'), p99: lagMs('p99'), max: lagMs('max') }, padding: d.total('reward_tokens_total', 'kind="real"') / d.total('reward_tokens_total', 'kind="computed"') };
});

const f = (x: number, d = 1) => x.toFixed(d);
const lines = [
  `machine: ${os.cpus()[0]?.model} × ${os.availableParallelism()}, node ${process.version}, ${new Date().toISOString()}`,
  `data: ${corpus.items.length} of ${items.length} HH items (the rest have a response over ${folder.reward.maxLength} tokens), mean ${f(corpus.tokens / corpus.items.length)} tokens after truncation to ${folder.reward.maxLength}`,
  `raw ORT, same workers, all items sorted by length, no HTTP:`,
  `  L  (batches of ${BATCH}): ${f(fixedRate)} items/s`,
  `  L' (batches cut at the service's limits, ${config.maxBatchSize} items / ${batchTokenBudget(config, folder)} tokens): ${f(limitedRate)} items/s`,
  `service S (/score, ${CLIENTS} clients × ${BATCH} items, ${SECONDS} s): ${f(S.itemsPerSecond)} items/s` +
    `  S/L = ${f(S.itemsPerSecond / fixedRate, 3)}, S/L' = ${f(S.itemsPerSecond / limitedRate, 3)}`,
  `  request latency ms: p50 ${f(pct(S.latencies, 50))}, p99 ${f(pct(S.latencies, 99))} (${S.requests} requests, ${S.errors} not 200)`,
  `  padding efficiency (real / computed tokens): ${f(S.padding, 3)}`,
  `event loop while saturated: server lag p50 ${f(S.lag.p50, 2)} ms, p99 ${f(S.lag.p99, 2)} ms, max ${f(S.lag.max, 2)} ms;` +
    ` /health/live p50 ${f(pct(S.health, 50), 2)} ms, p99 ${f(pct(S.health, 99), 2)} ms`,
  `tokenizer (@huggingface/tokenizers, one thread): ${f(corpus.tokens / corpus.tokenizeSeconds / 1e6, 3)} M tokens/s;` +
    ` one ${BATCH}-item request would stall the event loop ${f(stallMs)} ms if tokenized on it`,
];
console.log(lines.join('\n'));
const out = process.env.BENCH_OUT;
if (out) fs.writeFileSync(out, lines.join('\n') + '\n');
