// Real-size checkpoints for the scale section: built from the real transformers class with random
// seeded weights (bench/scale/build_checkpoint.py), imported with the project's importer, and
// cached under bench/.cache/scale/<shape>/ (gitignored), so a second run reuses both.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/util/project-root.js';

/** A Qwen3 shape: the config fields that differ from the importer tests' tiny one. */
export interface QwenDims {
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  intermediate_size: number;
}

/** The shapes `--scale-models` names (Qwen3's vocabulary of 151,936 in both). */
export const SCALE_SHAPES: Record<string, QwenDims> = {
  // About 100 M parameters, most of them the embedding: a quick model to develop against.
  '100m': { hidden_size: 512, num_hidden_layers: 8, num_attention_heads: 8, num_key_value_heads: 4, head_dim: 64, intermediate_size: 1536 },
  // Qwen3-0.6B's shape.
  '0.6b': { hidden_size: 1024, num_hidden_layers: 28, num_attention_heads: 16, num_key_value_heads: 8, head_dim: 128, intermediate_size: 3072 },
};

/** One cached checkpoint and its imported folder. */
export interface ScaleModel {
  name: string;
  dims: QwenDims;
  /** Cache key (the folder under bench/.cache/scale). */
  key: string;
  /** The transformers checkpoint (save_pretrained). */
  checkpointDir: string;
  /** The imported folder the service serves. */
  modelDir: string;
  /** Parameters, counted from the checkpoint's safetensors headers. */
  params: number;
  /** Seconds spent building and importing in this run; 0 for each when cached. */
  buildSeconds: number;
  importSeconds: number;
}

const ROOT = projectRoot();
export const SCALE_CACHE = path.join(ROOT, 'bench', '.cache', 'scale');

/** The venv's interpreter unless PYTHON names another. */
export const python = () => process.env.PYTHON ?? path.join(ROOT, '.venv', 'bin', 'python');

export const shapeKey = (d: QwenDims) =>
  `qwen3-${d.hidden_size}x${d.num_hidden_layers}-h${d.num_attention_heads}kv${d.num_key_value_heads}d${d.head_dim}-i${d.intermediate_size}`;

/** Runs `python args`, passing each output line to `log`; rejects with the last lines on failure. */
export function runPython(args: string[], log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const proc = spawn(python(), args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const lines = (d: Buffer) => {
      for (const l of d.toString().split('\n').filter((x) => x.trim())) {
        tail.push(l);
        if (tail.length > 12) tail.shift();
        log(l);
      }
    };
    proc.stdout.on('data', lines);
    proc.stderr.on('data', lines);
    proc.on('error', reject);
    proc.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${python()} ${args[0]} exited ${code}:\n${tail.join('\n')}`))));
  });
}

/** Parameters in a checkpoint: the shapes in each safetensors file's JSON header (no weights read). */
export function safetensorsParams(dir: string): number {
  let n = 0;
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.safetensors'))) {
    const fd = fs.openSync(path.join(dir, f), 'r');
    try {
      const len = Buffer.alloc(8);
      fs.readSync(fd, len, 0, 8, 0);
      const head = Buffer.alloc(Number(len.readBigUInt64LE()));
      fs.readSync(fd, head, 0, head.length, 8);
      const tensors = JSON.parse(head.toString('utf8')) as Record<string, { shape?: number[] }>;
      for (const [k, t] of Object.entries(tensors)) if (k !== '__metadata__') n += (t.shape ?? []).reduce((a, b) => a * b, 1);
    } finally {
      fs.closeSync(fd);
    }
  }
  return n;
}

/**
 * The checkpoint and imported folder of shape `name` (with `prefixGraphs`, imported with
 * --prefix-graphs into `model-prefix`), built and imported first where the cache lacks them. Each step writes beside its target and renames into place, so an interrupted run
 * leaves nothing that a later one would take as done.
 */
export async function ensureScaleModel(name: string, log: (line: string) => void, opts: { prefixGraphs?: boolean } = {}): Promise<ScaleModel> {
  const dims = SCALE_SHAPES[name];
  if (!dims) throw new Error(`--scale-models: unknown shape ${name} (shapes: ${Object.keys(SCALE_SHAPES).join(', ')})`);
  const key = shapeKey(dims);
  const dir = path.join(SCALE_CACHE, key);
  const checkpointDir = path.join(dir, 'checkpoint');
  // With prefix graphs the import goes to its own folder: `model` stays what the scale section serves.
  const modelDir = path.join(dir, opts.prefixGraphs ? 'model-prefix' : 'model');
  const sub = (line: string) => log(`    ${line}`);
  let buildSeconds = 0;
  let importSeconds = 0;
  if (!fs.existsSync(path.join(checkpointDir, 'config.json'))) {
    const tmp = `${checkpointDir}.tmp`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    log(`  ${name}: building ${key} (random seeded weights)…`);
    const t = performance.now();
    await runPython([path.join(ROOT, 'bench', 'scale', 'build_checkpoint.py'), tmp, JSON.stringify(dims)], sub);
    fs.renameSync(tmp, checkpointDir);
    buildSeconds = (performance.now() - t) / 1000;
  }
  if (!fs.existsSync(path.join(modelDir, 'import-report.json'))) {
    log(`  ${name}: importing ${key} with importer/model_import.py…`);
    const t = performance.now();
    // The importer directly, not `npm run model:import`: that rebuilds dist/ under this running bench.
    await runPython([path.join(ROOT, 'importer', 'model_import.py'), checkpointDir, modelDir, '--force', ...(opts.prefixGraphs ? ['--prefix-graphs'] : [])], sub);
    importSeconds = (performance.now() - t) / 1000;
  }
  return { name, dims, key, checkpointDir, modelDir, params: safetensorsParams(checkpointDir), buildSeconds, importSeconds };
}
