// Throughput of POST /score at client batch 64 on HH-length texts, the event-loop delay of the
// server while batches run, and the raw ONNX Runtime limit for the same items. Prints figures;
// asserts nothing (these machines are shared and noisy).
//
//   npm run bench:score -- [--seconds 20] [--clients 4] [--batch 64]   (server settings via env)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../src/config.js';
import { Formatter } from '../src/format/format.js';
import { OrtBackend } from '../src/infer/ort-backend.js';
import { readModelFolder } from '../src/model/model-folder.js';
import { TokenEncoder } from '../src/tokenize/token-encoder.js';
import { packRows } from '../src/util/pack-rows.js';
import { projectRoot } from '../src/util/project-root.js';
import { loadHhItems, type HhItem } from './hh-data.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    clients: { type: 'string', default: '4' },
    batch: { type: 'string', default: '64' },
    port: { type: 'string', default: '18231' },
  },
});
const SECONDS = Number(args.seconds);
const CLIENTS = Number(args.clients);
const BATCH = Number(args.batch);
const PORT = Number(args.port);
const ROOT = projectRoot();
const BASE = `http://127.0.0.1:${PORT}`;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One scrape of /metrics (it also resets the event-loop delay histogram), as name → value. */
async function scrape(): Promise<(name: string) => number> {
  const text = await (await fetch(`${BASE}/metrics`)).text();
  return (name) => {
    const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => '\\' + c)} ([0-9.e+-]+)$`, 'm').exec(text);
    return m ? Number(m[1]) : NaN;
  };
}

async function startServer() {
  const proc = spawn(process.execPath, [path.join(ROOT, 'dist', 'src', 'server.js')], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(PORT), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${BASE}/health/ready`)).status === 200) return proc;
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
  throw new Error('server did not become ready');
}

async function service(items: HhItem[]) {
  const proc = await startServer();
  let next = 0;
  const take = () => Array.from({ length: BATCH }, () => items[next++ % items.length]!);
  const post = (batch: HhItem[]) =>
    fetch(`${BASE}/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ items: batch }) }).then(async (r) => {
      if (r.status !== 200) throw new Error(`status ${r.status}`);
      return (await r.json()) as { rewards: number[] };
    });
  for (let i = 0; i < 4; i++) await post(take()); // warm-up
  const before = await scrape();

  const latencies: number[] = [];
  const health: number[] = [];
  let done = 0;
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  const clients = Array.from({ length: CLIENTS }, async () => {
    while (performance.now() < end) {
      const s = performance.now();
      const r = await post(take());
      latencies.push(performance.now() - s);
      done += r.rewards.length;
    }
  });
  const prober = (async () => {
    while (performance.now() < end) {
      const s = performance.now();
      await fetch(`${BASE}/health/live`).then((r) => r.arrayBuffer());
      health.push(performance.now() - s);
      await sleep(50);
    }
  })();
  await Promise.all([...clients, prober]);
  const elapsed = (performance.now() - t0) / 1000;
  const after = await scrape();
  // prom-client samples the loop every 10 ms and records the whole interval: subtract it.
  const lagMs = (q: string) => after(`reward_nodejs_eventloop_lag_${q}_seconds`) * 1000 - 10;
  const lag = { p50: lagMs('p50'), p99: lagMs('p99'), max: lagMs('max') };
  const tokens = (kind: string) => after(`reward_tokens_total{kind="${kind}"}`) - before(`reward_tokens_total{kind="${kind}"}`);
  const real = tokens('real');
  const computed = tokens('computed');
  proc.kill('SIGTERM');
  await new Promise((r) => proc.on('exit', r));
  return { itemsPerSecond: done / elapsed, latencies, health, lag, padding: real / computed };
}

/** Raw ORT throughput: same tokenized items, batches of BATCH grouped by length, no HTTP. */
async function limit(items: HhItem[], config: Config) {
  const folder = readModelFolder(config.modelDir);
  const enc = new TokenEncoder(folder.tokenizerJson, folder.tokenizerConfig, folder.reward.maxLength);
  const fmt = new Formatter(folder.reward.template);
  const t0 = performance.now();
  const encoded: number[][] = [];
  const usable: HhItem[] = [];
  for (const it of items) {
    const r = enc.encode(fmt.format(it), 'auto');
    if ('code' in r) continue; // a response longer than max_length on its own: the service says 422
    encoded.push(r.ids);
    usable.push(it);
  }
  const tokenizeSeconds = (performance.now() - t0) / 1000;
  const tokens = encoded.reduce((a, r) => a + r.length, 0);
  encoded.sort((a, b) => a.length - b.length);
  const backend = await OrtBackend.create({
    modelPath: folder.modelPath,
    workers: config.inferWorkers,
    intraOpThreads: config.intraOpThreads,
    padTokenId: folder.padTokenId ?? 1,
  });
  // Batches of BATCH sorted items (the definition of L), and batches cut by the service's own
  // limits (size and size × longest), which is the rate the batcher can at best reach.
  const fixed: number[][][] = [];
  for (let i = 0; i < encoded.length; i += BATCH) fixed.push(encoded.slice(i, i + BATCH));
  const limited: number[][][] = [[]];
  for (const r of encoded) {
    const cur = limited[limited.length - 1]!;
    if (cur.length > 0 && (cur.length >= config.maxBatchSize || (cur.length + 1) * r.length > config.maxBatchTokens)) limited.push([r]);
    else cur.push(r);
  }
  const rate = async (batches: number[][][]) => {
    await backend.run(packRows(batches[0]!));
    const t1 = performance.now();
    let next = 0;
    // One loop per worker, each taking the next batch as soon as its last one is back.
    await Promise.all(
      Array.from({ length: backend.concurrency }, async () => {
        while (next < batches.length) await backend.run(packRows(batches[next++]!));
      }),
    );
    return usable.length / ((performance.now() - t1) / 1000);
  };
  const fixedRate = await rate(fixed);
  const limitedRate = await rate(limited);
  await backend.close();
  // The stall tokenizing one client request would cause if it ran on the event loop.
  const one = items.slice(0, BATCH).map((it) => fmt.format(it));
  const t2 = performance.now();
  for (const f of one) enc.encode(f, 'auto');
  const stallMs = performance.now() - t2;
  return { usable, fixedRate, limitedRate, tokensPerSecond: tokens / tokenizeSeconds, meanTokens: tokens / items.length, stallMs, maxLength: folder.reward.maxLength };
}

const config = loadConfig(process.env);
const items = loadHhItems();
const L = await limit(items, config); // the worker setup and limits the server will use
const S = await service(L.usable);
const f = (x: number, d = 1) => x.toFixed(d);
const lines = [
  `machine: ${os.cpus()[0]?.model} × ${os.availableParallelism()}, node ${process.version}, ${new Date().toISOString()}`,
  `data: ${L.usable.length} of ${items.length} HH items (the rest have a response over ${L.maxLength} tokens), mean ${f(L.meanTokens)} tokens after truncation to ${L.maxLength}`,
  `raw ORT, same workers, all items sorted by length, no HTTP:`,
  `  L  (batches of ${BATCH}): ${f(L.fixedRate)} items/s`,
  `  L' (batches cut at the service's limits, ${config.maxBatchSize} items / ${config.maxBatchTokens} tokens): ${f(L.limitedRate)} items/s`,
  `service S (/score, ${CLIENTS} clients × ${BATCH} items, ${SECONDS} s): ${f(S.itemsPerSecond)} items/s` +
    `  S/L = ${f(S.itemsPerSecond / L.fixedRate, 3)}, S/L' = ${f(S.itemsPerSecond / L.limitedRate, 3)}`,
  `  request latency ms: p50 ${f(S.latencies.length ? pct(S.latencies, 50) : NaN)}, p99 ${f(pct(S.latencies, 99))} (${S.latencies.length} requests)`,
  `  padding efficiency (real / computed tokens): ${f(S.padding, 3)}`,
  `event loop while saturated: server lag p50 ${f(S.lag.p50, 2)} ms, p99 ${f(S.lag.p99, 2)} ms, max ${f(S.lag.max, 2)} ms;` +
    ` /health/live p50 ${f(pct(S.health, 50), 2)} ms, p99 ${f(pct(S.health, 99), 2)} ms`,
  `tokenizer (@huggingface/tokenizers, one thread): ${f(L.tokensPerSecond / 1e6, 3)} M tokens/s;` +
    ` one ${BATCH}-item request would stall the event loop ${f(L.stallMs)} ms if tokenized on it`,
];
console.log(lines.join('\n'));
const out = process.env.BENCH_OUT;
if (out) fs.writeFileSync(out, lines.join('\n') + '\n');
