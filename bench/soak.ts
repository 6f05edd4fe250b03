// Load and soak test of the real server over loopback: measures capacity briefly, then offers
// a multiple of it (open loop) for a bounded time and reports throughput, latency, status counts
// and the server's RSS over time; optionally sends SIGTERM mid-run and checks that every request
// the server accepted was answered. Prints figures; asserts nothing (shared, noisy machines).
//
//   npm run soak -- [--seconds 300] [--factor 2] [--batch 16] [--sigterm-at 290] [--capacity-seconds 20]
//   npm run soak -- --attack [--seconds 30]   (seconds per kind of attack; see lib/attack.ts)
//   (server settings via env; the HH texts it sends are never printed)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../src/util/project-root.js';
import { loadConfig } from '../src/config.js';
import { loadHhItems, type HhItem } from './hh-data.js';
import { runAttack } from './lib/attack.js';
import { loadCorpus } from './lib/limit.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '300' },
    factor: { type: 'string', default: '2' },
    batch: { type: 'string', default: '16' },
    'capacity-seconds': { type: 'string', default: '20' },
    'capacity-clients': { type: 'string', default: '8' },
    'sigterm-at': { type: 'string' },
    'max-inflight': { type: 'string', default: '2000' },
    'sample-seconds': { type: 'string', default: '10' },
    port: { type: 'string', default: '18241' },
    attack: { type: 'boolean', default: false },
  },
});
const SECONDS = Number(args.seconds);
const FACTOR = Number(args.factor);
const BATCH = Number(args.batch);
const SIGTERM_AT = args['sigterm-at'] === undefined ? null : Number(args['sigterm-at']);
const MAX_INFLIGHT = Number(args['max-inflight']);
const SAMPLE_S = Number(args['sample-seconds']);
const BASE = `http://127.0.0.1:${args.port}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const log = (line: string) => process.stdout.write(line + '\n');

// Responses that alone exceed max_length get 422 response_too_long; keep to items that score
// (encoded as the service does, for the served model's max_length).
const soakConfig = loadConfig(process.env);
const items = loadCorpus(soakConfig.modelDir, loadHhItems(), soakConfig).items;
let nextItem = 0;
const body = () => JSON.stringify({ items: Array.from({ length: BATCH }, (): HhItem => items[nextItem++ % items.length]!) });

/** One request's outcome: an HTTP status, or the network error code when no response came. */
interface Outcome {
  sentAt: number;
  ms: number;
  status: number | null;
  error: string | null;
}

async function send(): Promise<Outcome> {
  const sentAt = performance.now();
  try {
    const r = await fetch(`${BASE}/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body() });
    await r.arrayBuffer();
    return { sentAt, ms: performance.now() - sentAt, status: r.status, error: null };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    return { sentAt, ms: performance.now() - sentAt, status: null, error: cause?.code ?? (err as Error).message };
  }
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

// The server, as `npm start` runs it, on its own port.
const proc = spawn(process.execPath, [path.join(projectRoot(), 'dist', 'src', 'server.js')], {
  cwd: projectRoot(),
  env: { ...process.env, PORT: args.port, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
process.on('exit', () => proc.kill('SIGKILL'));
for (let i = 0; ; i++) {
  if (i > 600 || proc.exitCode !== null) throw new Error('server did not become ready');
  try {
    if ((await fetch(`${BASE}/health/ready`)).status === 200) break;
  } catch {
    /* not listening yet */
  }
  await sleep(100);
}

if (args.attack) {
  await runAttack({ port: Number(args.port), seconds: Number(args.seconds), proc, exited, log });
  process.exit(0);
}

// 1. Capacity: closed loop, each client sends its next request when the last is answered.
const capSeconds = Number(args['capacity-seconds']);
let capItems = 0;
const capEnd = performance.now() + capSeconds * 1000;
await Promise.all(
  Array.from({ length: Number(args['capacity-clients']) }, async () => {
    while (performance.now() < capEnd) {
      const o = await send();
      if (o.status === 200) capItems += BATCH;
    }
  }),
);
const capacity = capItems / capSeconds;
const rate = (FACTOR * capacity) / BATCH; // requests per second offered
log(`machine: ${os.cpus()[0]?.model} × ${os.availableParallelism()}, node ${process.version}, ${new Date().toISOString()}, load avg ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
log(`capacity (closed loop, ${args['capacity-clients']} clients × ${BATCH} items, ${capSeconds} s): ${capacity.toFixed(1)} items/s`);
log(`offering ${FACTOR}× = ${(rate * BATCH).toFixed(1)} items/s (${rate.toFixed(2)} requests/s of ${BATCH} items), open loop, ${SECONDS} s` + (SIGTERM_AT === null ? '' : `, SIGTERM at ${SIGTERM_AT} s`));

// 2. Open loop at the offered rate; RSS and a status line every SAMPLE_S seconds.
const outcomes: Outcome[] = [];
const pending = new Set<Promise<void>>();
let skipped = 0;
let sigtermAt: number | null = null;
const t0 = performance.now();
const samples: { t: number; rss: number }[] = [];
let lastSample = t0;
let windowFrom = 0;
let sent = 0;
let serverGone = false;
void exited.then(() => (serverGone = true));
while (!serverGone) {
  const now = performance.now();
  const t = (now - t0) / 1000;
  if (t >= SECONDS && sigtermAt === null) break;
  if (SIGTERM_AT !== null && sigtermAt === null && t >= SIGTERM_AT) {
    sigtermAt = now;
    proc.kill('SIGTERM');
    log(`t=${t.toFixed(1)} s: SIGTERM sent, still offering load until the server exits`);
  }
  for (; sent < Math.floor(t * rate); sent++) {
    if (pending.size >= MAX_INFLIGHT) {
      skipped++;
      continue;
    }
    const p = send().then((o) => {
      outcomes.push(o);
      pending.delete(p);
    });
    pending.add(p);
  }
  if (now - lastSample >= SAMPLE_S * 1000 && !serverGone) {
    lastSample = now;
    const rss = rssMb(proc.pid!);
    samples.push({ t, rss });
    const win = outcomes.slice(windowFrom);
    windowFrom = outcomes.length;
    const ok = win.filter((o) => o.status === 200);
    const count = (s: number) => win.filter((o) => o.status === s).length;
    log(
      `t=${t.toFixed(0).padStart(4)} s  rss ${rss.toFixed(1)} MB  done ${win.length}: 200 ${ok.length}, 429 ${count(429)}, other ${win.length - ok.length - count(429)}` +
        `  accepted p50/p99 ${pct(ok.map((o) => o.ms), 50).toFixed(0)}/${pct(ok.map((o) => o.ms), 99).toFixed(0)} ms  in flight ${pending.size}`,
    );
  }
  await sleep(5);
}
await Promise.all(pending);
const elapsed = ((sigtermAt ?? performance.now()) - t0) / 1000;
if (sigtermAt === null) proc.kill('SIGTERM');
const exitCode = await exited;

// 3. Report.
const before = outcomes.filter((o) => sigtermAt === null || o.sentAt < sigtermAt);
const statuses = new Map<string, number>();
for (const o of outcomes) statuses.set(o.error ?? String(o.status), (statuses.get(o.error ?? String(o.status)) ?? 0) + 1);
const ok = before.filter((o) => o.status === 200);
const lat = ok.map((o) => o.ms);
log(`\nrequests: ${outcomes.length} answered or failed, ${skipped} not sent (client in-flight cap ${MAX_INFLIGHT})`);
log(`status counts: ${[...statuses].map(([k, v]) => `${k}: ${v}`).join(', ')}`);
log(`throughput (before SIGTERM): ${((ok.length * BATCH) / elapsed).toFixed(1)} items/s scored, ${(before.length / elapsed).toFixed(1)} requests/s answered`);
log(`accepted (200) latency ms: p50 ${pct(lat, 50).toFixed(0)}, p90 ${pct(lat, 90).toFixed(0)}, p99 ${pct(lat, 99).toFixed(0)}, max ${Math.max(...lat).toFixed(0)}`);
const rejected = before.filter((o) => o.status === 429).map((o) => o.ms);
if (rejected.length) log(`429 latency ms: p50 ${pct(rejected, 50).toFixed(1)}, p99 ${pct(rejected, 99).toFixed(1)}`);
const errorsBefore = before.filter((o) => o.status !== 200 && o.status !== 429);
log(`errors other than 429 before SIGTERM: ${errorsBefore.length}`);
const warm = samples.find((s) => s.t >= 60) ?? samples[0];
const last = samples[samples.length - 1];
if (warm && last) {
  const max = Math.max(...samples.filter((s) => s.t >= warm.t).map((s) => s.rss));
  log(`RSS: ${samples.map((s) => `${s.t.toFixed(0)}s ${s.rss.toFixed(0)}`).join(', ')} MB`);
  log(`RSS after warm-up (t=${warm.t.toFixed(0)} s, ${warm.rss.toFixed(1)} MB): last ${last.rss.toFixed(1)} MB (${((100 * (last.rss - warm.rss)) / warm.rss).toFixed(1)}%), max ${max.toFixed(1)} MB (${((100 * (max - warm.rss)) / warm.rss).toFixed(1)}%)`);
}
if (sigtermAt !== null) {
  const after = outcomes.filter((o) => o.sentAt >= sigtermAt!);
  const inFlightAtSignal = outcomes.filter((o) => o.sentAt < sigtermAt! && o.sentAt + o.ms > sigtermAt!);
  const lost = inFlightAtSignal.filter((o) => o.status === null);
  const afterCounts = new Map<string, number>();
  for (const o of after) afterCounts.set(o.error ?? String(o.status), (afterCounts.get(o.error ?? String(o.status)) ?? 0) + 1);
  log(`SIGTERM: ${inFlightAtSignal.length} requests in flight at the signal: ${inFlightAtSignal.filter((o) => o.status === 200).length} answered 200, ` +
      `${inFlightAtSignal.filter((o) => o.status !== null && o.status !== 200).length} answered otherwise, ${lost.length} without a response (lost)`);
  log(`  sent after the signal: ${[...afterCounts].map(([k, v]) => `${k}: ${v}`).join(', ') || 'none'}; server exit code ${exitCode}`);
} else {
  log(`server exit code after SIGTERM at the end: ${exitCode}`);
}
