// GPU check of one model folder: start the real server on CUDA and on CPU, confirm CUDA is used,
// compare rewards on a fixed HH set, then measure /score at client batch 64 on the GPU.
// Prints figures (one JSON line per measurement) and asserts nothing; bench/gpu/run-device.sh
// runs it on the device machine.
//
//   node dist/bench/gpu-check.js --model-dir DIR --label NAME [--layers 12 --hidden 768 --ffn 3072]
//        [--seconds 15] [--clients 1,4,16] [--parity-items 64] [--cpu-parity true]
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Formatter } from '../src/format/format.js';
import { readModelFolder } from '../src/model/model-folder.js';
import { TokenEncoder } from '../src/tokenize/token-encoder.js';
import { projectRoot } from '../src/util/project-root.js';
import { loadHhItems, type HhItem } from './hh-data.js';

const { values: a } = parseArgs({
  options: {
    'model-dir': { type: 'string' },
    label: { type: 'string', default: 'model' },
    layers: { type: 'string' },
    hidden: { type: 'string' },
    ffn: { type: 'string' },
    seconds: { type: 'string', default: '15' },
    clients: { type: 'string', default: '1,4,16' },
    batch: { type: 'string', default: '64' },
    'parity-items': { type: 'string', default: '64' },
    'cpu-parity': { type: 'string', default: 'true' },
    'peak-tflops': { type: 'string', default: '800' },
  },
});
const MODEL_DIR = path.resolve(a['model-dir'] ?? 'models/default');
const BATCH = Number(a.batch);
const ROOT = projectRoot();
const OUT = process.env.BENCH_OUT;

function emit(record: Record<string, unknown>) {
  const line = JSON.stringify({ label: a.label, ...record });
  console.log(line);
  if (OUT) fs.appendFileSync(OUT, line + '\n');
}

const pct = (xs: number[], p: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Server {
  proc: ChildProcess;
  base: string;
  stop(): Promise<void>;
}

/** The real server on `port`, ready (model loaded, warm-up batch run) or an error with its stderr. */
async function startServer(port: number, env: Record<string, string>): Promise<Server> {
  let err = '';
  const proc = spawn(process.execPath, [path.join(ROOT, 'dist', 'src', 'server.js')], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), LOG_LEVEL: 'info', MODEL_DIR, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) if (/model ready|CUDA NOT USED/.test(line)) console.error(line.slice(0, 600));
  });
  proc.stderr!.on('data', (d) => (err += d));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 1800; i++) {
    if (proc.exitCode !== null) throw new Error(`server exited ${proc.exitCode}: ${err.slice(0, 800)}`);
    try {
      if ((await fetch(`${base}/health/ready`)).status === 200) break;
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
  return {
    proc,
    base,
    async stop() {
      proc.kill('SIGTERM');
      if (proc.exitCode === null) await new Promise((r) => proc.on('exit', r));
    },
  };
}

async function score(base: string, items: HhItem[]): Promise<number[]> {
  const r = await fetch(`${base}/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ items }) });
  if (r.status !== 200) throw new Error(`/score ${r.status}: ${(await r.text()).slice(0, 300)}`);
  return ((await r.json()) as { rewards: number[] }).rewards;
}

async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => '\\' + c)} ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

/** Saturating load: `clients` loops each POSTing BATCH items for `seconds`. */
async function load(base: string, items: HhItem[], clients: number, seconds: number) {
  let next = 0;
  const take = () => Array.from({ length: BATCH }, () => items[next++ % items.length]!);
  for (let i = 0; i < 3; i++) await score(base, take());
  const [real0, comp0, n0] = await Promise.all([
    metric(base, 'reward_tokens_total{kind="real"}'),
    metric(base, 'reward_tokens_total{kind="computed"}'),
    metric(base, 'reward_inferred_items_total'),
  ]);
  const latencies: number[] = [];
  let done = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const s = performance.now();
        // Not `done += await …`: that reads `done` before the await and loses other clients' counts.
        const n = (await score(base, take())).length;
        done += n;
        latencies.push(performance.now() - s);
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const [real1, comp1, n1] = await Promise.all([
    metric(base, 'reward_tokens_total{kind="real"}'),
    metric(base, 'reward_tokens_total{kind="computed"}'),
    metric(base, 'reward_inferred_items_total'),
  ]);
  return { elapsed, done, latencies, real: real1 - real0, computed: comp1 - comp0, inferred: n1 - n0 };
}

/** Forward FLOPs of an encoder over `items` rows padded to a mean width `w` (embeddings excluded). */
function encoderFlops(items: number, w: number): number | null {
  if (!a.layers || !a.hidden || !a.ffn) return null;
  const [L, d, f] = [Number(a.layers), Number(a.hidden), Number(a.ffn)];
  const perTokenMatmul = 2 * L * (4 * d * d + 2 * d * f); // QKV + output projection, FFN in and out
  const attention = 4 * L * d * w; // scores and weighted sum, per token, over w keys
  return items * w * (perTokenMatmul + attention);
}

const GPU_ENV = {
  EXECUTION_PROVIDER: 'cuda',
  // Only for a dry run of this script on a machine without a GPU.
  ALLOW_CPU_FALLBACK: process.env.GPU_ALLOW_CPU_FALLBACK ?? 'false',
  MAX_BATCH_SIZE: process.env.GPU_MAX_BATCH_SIZE ?? '256',
  MAX_BATCH_TOKENS: process.env.GPU_MAX_BATCH_TOKENS ?? '65536',
  INFER_WORKERS: process.env.GPU_INFER_WORKERS ?? '2',
  INTRA_OP_THREADS: '1',
  TOKENIZER_WORKERS: process.env.GPU_TOKENIZER_WORKERS ?? '4',
  MAX_ITEMS_PER_REQUEST: '1024',
};

/** HH items the model accepts: a response longer than max_length alone gets 422 from the service. */
function usableItems(): HhItem[] {
  const folder = readModelFolder(MODEL_DIR);
  const enc = new TokenEncoder(folder.tokenizerJson, folder.tokenizerConfig, folder.reward.maxLength);
  const fmt = new Formatter(folder.reward.template);
  return loadHhItems().filter((it) => !('code' in enc.encode(fmt.format(it), 'auto')));
}

const all = usableItems();
const parityItems = all.slice(0, Number(a['parity-items']));
const gpu = await startServer(18301, GPU_ENV);
try {
  const model = ((await (await fetch(`${gpu.base}/v1/models`)).json()) as { data: Record<string, unknown>[] }).data[0]!;
  let apps = '';
  try {
    apps = execFileSync('nvidia-smi', ['--query-compute-apps=pid,used_memory', '--format=csv,noheader'], { encoding: 'utf8' }).trim();
  } catch {
    apps = 'nvidia-smi unavailable';
  }
  emit({ kind: 'provider', settings: GPU_ENV, execution_provider: model.execution_provider, device: model.device, server_pid: gpu.proc.pid, gpu_processes: apps });
  const gpuRewards = await score(gpu.base, parityItems);
  if (a['cpu-parity'] === 'true') {
    const cpu = await startServer(18302, { EXECUTION_PROVIDER: 'cpu', INFER_WORKERS: '1', INTRA_OP_THREADS: '8' });
    const cpuRewards = await score(cpu.base, parityItems);
    await cpu.stop();
    const deltas = gpuRewards.map((r, i) => Math.abs(r - cpuRewards[i]!));
    emit({ kind: 'parity', items: deltas.length, max_abs_delta: Math.max(...deltas), mean_abs_delta: deltas.reduce((x, y) => x + y, 0) / deltas.length });
  }
  for (const clients of a.clients.split(',').map(Number)) {
    const r = await load(gpu.base, all, clients, Number(a.seconds));
    const meanWidth = r.computed / r.inferred;
    const flops = encoderFlops(r.inferred, meanWidth);
    emit({
      kind: 'load',
      clients,
      client_batch: BATCH,
      items_per_s: +(r.done / r.elapsed).toFixed(1),
      p50_ms: +pct(r.latencies, 50).toFixed(1),
      p99_ms: +pct(r.latencies, 99).toFixed(1),
      requests: r.latencies.length,
      padding_efficiency: +(r.real / r.computed).toFixed(3),
      mean_padded_width: +meanWidth.toFixed(1),
      ...(flops !== null && {
        tflops_per_s: +(flops / r.elapsed / 1e12).toFixed(2),
        share_of_peak: +(flops / r.elapsed / 1e12 / Number(a['peak-tflops'])).toFixed(4),
      }),
    });
  }
} finally {
  await gpu.stop();
}
