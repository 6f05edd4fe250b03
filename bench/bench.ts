// npm run bench: the eight measurements of issue 6 against the real service and the raw model,
// written to bench/results/<date>.json and bench/RESULTS.md. Prints figures; asserts nothing.
//
//   npm run bench -- [--quick] [--repeats 3] [--seconds 12] [--batching-seconds 5] [--minutes 10]
//                    [--clients 8] [--batch 64] [--batching-clients 1,4,16,64,128,256,1024]
//                    [--data FILE] [--only limit,service,batching,tokenization,memory,ort]
//   npm run bench -- --only scale [--scale-models 100m,0.6b] [--scale-seconds 60] [--scale-round-cap 900] [--scale-prepare]
//   npm run bench -- --render bench/results/<date>.json   (RESULTS.md again from a saved run)
// Service settings come from the environment, as for `npm start` (e.g. MAX_BATCH_TOKENS=4096).
//
// scale (real size; only when named in --only): per shape of --scale-models, a Qwen3 checkpoint
// with random seeded weights, built by bench/scale/build_checkpoint.py and imported with
// importer/model_import.py once, cached in bench/.cache/scale/ (needs .venv, or PYTHON naming a
// python with the importer's requirements and fastapi + uvicorn). Then raw ORT's L at its best
// batch; the service with default settings (only MODEL_DIR): ready time, RSS at rest, S (4 × 16),
// D(16), D(64), D(256) and long items (1,000–4,000 tokens), each with p50/p99, non-200 answers by
// status and peak RSS; and bench/scale/transformers_server.py (S, D(64)). Each load warms up for
// one round (every client answered once at the expected rate) and measures at least
// --scale-seconds (10 with --quick) and two rounds, a round counted at most --scale-round-cap seconds.
// --scale-prepare builds and imports only.
// First import: L runs in this process, so it gets the malloc settings the service starts with.
import '../src/util/malloc-env.js';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { batchTokenBudget } from '../src/core/runtime.js';
import { projectRoot } from '../src/util/project-root.js';
import { HH_DEV, loadHhItems } from './hh-data.js';
import type { BenchContext, BenchOptions } from './lib/context.js';
import { loadCorpus } from './lib/limit.js';
import { renderResults, type BenchResults } from './lib/report.js';
import { ensureScaleModel } from './lib/scale-models.js';
import { batchingSection } from './sections/batching.js';
import { limitSection } from './sections/limit.js';
import { memorySection } from './sections/memory.js';
import { ortSettingsSection } from './sections/ort-settings.js';
import { scaleSection } from './sections/scale.js';
import { serviceSection } from './sections/service.js';
import { tokenizationSection } from './sections/tokenization.js';

const SECTIONS = ['limit', 'service', 'batching', 'tokenization', 'memory', 'ort', 'scale'] as const;
// scale takes about an hour on 2 cores and a Python environment: it runs only when named.
const DEFAULT_SECTIONS = SECTIONS.filter((x) => x !== 'scale');
const ROOT = projectRoot();
// The test split of issue "Default reward model" once it has landed, else the dev data.
const TEST_SPLIT = path.join(ROOT, 'models', 'data', 'hh-harmless-test.jsonl.gz');

const { values: a } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    repeats: { type: 'string' },
    seconds: { type: 'string' },
    'batching-seconds': { type: 'string' },
    minutes: { type: 'string' },
    clients: { type: 'string', default: '8' },
    batch: { type: 'string', default: '64' },
    'batching-clients': { type: 'string', default: '1,4,16,64,128,256,1024' },
    data: { type: 'string' },
    only: { type: 'string', default: DEFAULT_SECTIONS.join(',') },
    'scale-models': { type: 'string', default: '100m,0.6b' },
    'scale-seconds': { type: 'string' },
    'scale-round-cap': { type: 'string', default: '900' },
    'scale-prepare': { type: 'boolean', default: false },
    render: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (a.help) {
  console.log(fs.readFileSync(new URL(import.meta.url)).toString().split('\n').filter((l) => l.startsWith('//')).join('\n'));
  process.exit(0);
}
const ROOT_MD = path.join(ROOT, 'bench', 'RESULTS.md');
/** Regenerates bench/RESULTS.md from a results file, keeping its GPU section. */
function writeMarkdown(results: BenchResults, jsonFile: string) {
  const previous = fs.existsSync(ROOT_MD) ? fs.readFileSync(ROOT_MD, 'utf8') : '';
  fs.writeFileSync(ROOT_MD, renderResults(results, previous, path.relative(path.join(ROOT, 'bench'), jsonFile)));
}
if (a.render) {
  writeMarkdown(JSON.parse(fs.readFileSync(a.render, 'utf8')) as BenchResults, path.resolve(a.render));
  console.log(`wrote bench/RESULTS.md from ${a.render}`);
  process.exit(0);
}
const num = (v: string | undefined, full: number, quick: number) => (v === undefined ? (a.quick ? quick : full) : Number(v));
const only = a.only.split(',').map((x) => x.trim());
for (const o of only) if (!(SECTIONS as readonly string[]).includes(o)) throw new Error(`--only: unknown section ${o} (sections: ${SECTIONS.join(', ')})`);

const config = loadConfig(process.env);
const opts: BenchOptions = {
  quick: a.quick,
  repeats: num(a.repeats, 3, 2),
  seconds: num(a.seconds, 12, 3),
  batchingSeconds: num(a['batching-seconds'], 5, 2),
  minutes: num(a.minutes, 10, 1),
  clients: Number(a.clients),
  batch: Number(a.batch),
  batchingClients: a['batching-clients'].split(',').map(Number),
  scaleModels: a['scale-models'].split(',').map((x) => x.trim()),
  scaleSeconds: num(a['scale-seconds'], 60, 10),
  scaleRoundCap: Number(a['scale-round-cap']),
  data: path.resolve(a.data ?? (fs.existsSync(TEST_SPLIT) ? TEST_SPLIT : HH_DEV)),
  modelDir: config.modelDir,
};
const t0 = performance.now();
const log = (line: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);
if (a['scale-prepare']) {
  for (const name of opts.scaleModels) {
    const m = await ensureScaleModel(name, log);
    log(`${name}: ${(m.params / 1e6).toFixed(1)} M parameters, ${path.relative(ROOT, m.modelDir)}${m.buildSeconds + m.importSeconds === 0 ? ' (cached)' : ''}`);
  }
  process.exit(0);
}
const corpus = loadCorpus(config.modelDir, loadHhItems(), config);
const ctx: BenchContext = { opts, config, corpus, log };
const ort = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
const results: BenchResults = {
  date: new Date().toISOString(),
  command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.availableParallelism(), node: process.version, ort, platform: `${os.platform()} ${os.release()}` },
  options: { ...opts, data: path.relative(ROOT, opts.data), only },
  settings: {
    INFER_WORKERS: config.inferWorkers,
    INTRA_OP_THREADS: config.intraOpThreads,
    LARGE_MODEL_MB: config.largeModelMb,
    CPU_MEM_ARENA: config.cpuMemArena,
    TOKENIZER_WORKERS: config.tokenizerWorkers,
    TOKENIZER_LIBRARY: config.tokenizerLibrary,
    MAX_BATCH_SIZE: config.maxBatchSize,
    MAX_BATCH_TOKENS: batchTokenBudget(config, corpus.folder),
    MAX_WAIT_MS: config.maxWaitMs,
    MIN_PADDING_EFFICIENCY: config.minPaddingEfficiency,
    TOKENIZE_GATHER_MS: config.tokenizeGatherMs,
    GRAPH_OPTIMIZATION: config.graphOptimization,
  },
  data: { file: path.relative(ROOT, HH_DEV), items: corpus.items.length, meanTokens: corpus.tokens / corpus.items.length, model: `${corpus.folder.name} (${path.relative(ROOT, corpus.folder.dir) || '.'})` },
};
log(`${results.machine.cpu} × ${results.machine.cores}, node ${results.machine.node}, onnxruntime-node ${ort}; ${corpus.items.length} items, ${opts.quick ? 'quick' : 'full'} mode`);

const run = async <K extends keyof BenchResults>(name: (typeof SECTIONS)[number], key: K, fn: (c: BenchContext) => Promise<BenchResults[K]>) => {
  if (!only.includes(name)) return;
  log(`${name}…`);
  results[key] = await fn(ctx);
};
await run('limit', 'limit', limitSection);
await run('service', 'service', serviceSection);
await run('batching', 'batching', batchingSection);
await run('tokenization', 'tokenization', tokenizationSection);
await run('ort', 'ort', ortSettingsSection);
await run('memory', 'memory', memorySection); // last but scale: it is the long one
await run('scale', 'scale', scaleSection);

const dir = path.join(ROOT, 'bench', 'results');
fs.mkdirSync(dir, { recursive: true });
const stamp = results.date.slice(0, 16).replace(':', '');
const jsonFile = path.join(dir, `${stamp}${opts.quick ? '-quick' : ''}.json`);
fs.writeFileSync(jsonFile, JSON.stringify(results, null, 2) + '\n');
writeMarkdown(results, jsonFile);
log(`wrote ${path.relative(ROOT, jsonFile)} and bench/RESULTS.md`);
