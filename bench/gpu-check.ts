// GPU check of one model folder: start the real server on CUDA and on CPU, confirm CUDA is used,
// compare rewards on a fixed HH set, then measure /score at client batch 64 on the GPU.
// Prints figures (one JSON line per measurement) and asserts nothing; bench/gpu/run-device.sh
// runs it on the device machine.
//
//   node dist/bench/gpu-check.js --model-dir DIR --label NAME [--layers 12 --hidden 768 --ffn 3072]
//        [--seconds 15] [--clients 1,4,16] [--parity-items 64] [--cpu-parity true]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { loadHhItems, type HhItem } from './hh-data.js';
import { loadCorpus } from './lib/limit.js';
import { runLoad, scoreBodies, warmUp } from './lib/load.js';
import { delta, scrape } from './lib/metrics.js';
import { startServer } from './lib/server.js';
import { pct } from './lib/stats.js';

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
const OUT = process.env.BENCH_OUT;

function emit(record: Record<string, unknown>) {
  const line = JSON.stringify({ label: a.label, ...record });
  console.log(line);
  if (OUT) fs.appendFileSync(OUT, line + '\n');
}

async function score(base: string, items: HhItem[]): Promise<number[]> {
  const r = await fetch(`${base}/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ items }) });
  if (r.status !== 200) throw new Error(`/score ${r.status}: ${(await r.text()).slice(0, 300)}`);
  return ((await r.json()) as { rewards: number[] }).rewards;
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
  // The level the H100 figures were measured with; the CPU default is 'basic'.
  GRAPH_OPTIMIZATION: process.env.GPU_GRAPH_OPTIMIZATION ?? 'all',
  MAX_BATCH_SIZE: process.env.GPU_MAX_BATCH_SIZE ?? '256',
  MAX_BATCH_TOKENS: process.env.GPU_MAX_BATCH_TOKENS ?? '65536',
  INFER_WORKERS: process.env.GPU_INFER_WORKERS ?? '2',
  INTRA_OP_THREADS: '1',
  TOKENIZER_WORKERS: process.env.GPU_TOKENIZER_WORKERS ?? '4',
  MAX_ITEMS_PER_REQUEST: '1024',
};

const all = loadCorpus(MODEL_DIR, loadHhItems(), loadConfig({})).items; // a response over max_length alone gets 422
const parityItems = all.slice(0, Number(a['parity-items']));
const bodies = scoreBodies(all, BATCH);
const gpu = await startServer({ ...GPU_ENV, MODEL_DIR });
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
    const cpu = await startServer({ EXECUTION_PROVIDER: 'cpu', INFER_WORKERS: '1', INTRA_OP_THREADS: '8', MODEL_DIR });
    const cpuRewards = await score(cpu.base, parityItems).finally(() => cpu.stop());
    const deltas = gpuRewards.map((r, i) => Math.abs(r - cpuRewards[i]!));
    emit({ kind: 'parity', items: deltas.length, max_abs_delta: Math.max(...deltas), mean_abs_delta: deltas.reduce((x, y) => x + y, 0) / deltas.length });
  }
  for (const clients of a.clients.split(',').map(Number)) {
    await warmUp(gpu.base, bodies, 3);
    const before = await scrape(gpu.base);
    const r = await runLoad({ base: gpu.base, bodies, itemsPerBody: BATCH, clients, seconds: Number(a.seconds) });
    const d = delta(before, await scrape(gpu.base));
    const real = d.total('reward_tokens_total', 'kind="real"');
    const computed = d.total('reward_tokens_total', 'kind="computed"');
    const inferred = d.total('reward_inferred_items_total');
    const meanWidth = computed / inferred;
    const flops = encoderFlops(inferred, meanWidth);
    emit({
      kind: 'load',
      clients,
      client_batch: BATCH,
      items_per_s: +r.itemsPerSecond.toFixed(1),
      p50_ms: +pct(r.latencies, 50).toFixed(1),
      p99_ms: +pct(r.latencies, 99).toFixed(1),
      requests: r.requests,
      errors: r.errors,
      padding_efficiency: +(real / computed).toFixed(3),
      mean_padded_width: +meanWidth.toFixed(1),
      ...(flops !== null && {
        tflops_per_s: +(flops / r.seconds / 1e12).toFixed(2),
        share_of_peak: +(flops / r.seconds / 1e12 / Number(a['peak-tflops'])).toFixed(4),
      }),
    });
  }
} finally {
  await gpu.stop();
}
