import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { Lifecycle } from '../../src/core/lifecycle.js';
import { loadModels } from '../../src/core/load-models.js';
import type { ModelRegistry } from '../../src/core/model-registry.js';
import type { BackendFactory, ModelRuntime } from '../../src/core/runtime.js';
import { OrtBackend } from '../../src/infer/ort-backend.js';
import { createMetrics } from '../../src/metrics.js';
import { projectRoot } from '../../src/util/project-root.js';

export const ROOT = projectRoot();
export const DEFAULT_MODEL = path.join(ROOT, 'models', 'default');
/** The default model's name (reward.json `name`), as requests and replies spell it. */
export const DEFAULT_NAME: string = JSON.parse(fs.readFileSync(path.join(DEFAULT_MODEL, 'reward.json'), 'utf8')).name;
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');

/** A config from defaults plus the given environment-style overrides. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ MODEL_DIR: DEFAULT_MODEL, INTRA_OP_THREADS: '1', ...env }, []);
}

/** A real app on a real ONNX session and tokenizer, driven with app.inject or a port. */
export interface TestApp {
  app: FastifyInstance;
  /** The default model (the first, unless DEFAULT_MODEL names another). */
  runtime: ModelRuntime;
  models: ModelRegistry;
  lifecycle: Lifecycle;
  config: Config;
  close(): Promise<void>;
}

export async function startApp(env: Record<string, string> = {}, makeBackend?: BackendFactory): Promise<TestApp> {
  const config = testConfig(env);
  const lifecycle = new Lifecycle(createMetrics());
  // Every configured model (MODELS, else MODEL_DIR), warmed up, with the configured ensembles.
  const models = await loadModels({ ...config, warmup: true }, lifecycle.metrics, makeBackend);
  lifecycle.ready(models);
  const app = await buildApp({ config, lifecycle });
  return {
    app,
    runtime: models.default,
    models,
    lifecycle,
    config,
    async close() {
      await app.close();
      await models.close();
    },
  };
}

/**
 * A temporary model folder: models/default's files (or those of the fixture folder `from`,
 * under test/fixtures/models, links followed), with `model.onnx` replaced by a fixture (or by
 * raw bytes), and any file left out or overwritten.
 */
export function modelDir(opts: { from?: string; onnx?: string | Buffer; omit?: string[]; files?: Record<string, string> } = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reward-model-'));
  const source = opts.from ? path.join(FIXTURES, 'models', opts.from) : DEFAULT_MODEL;
  for (const f of fs.readdirSync(source)) {
    if (opts.omit?.includes(f) || f === 'README.md') continue;
    fs.cpSync(path.join(source, f), path.join(dir, f), { recursive: true, dereference: true });
  }
  if (typeof opts.onnx === 'string') fs.copyFileSync(path.join(FIXTURES, 'models', opts.onnx), path.join(dir, 'model.onnx'));
  else if (opts.onnx) fs.writeFileSync(path.join(dir, 'model.onnx'), opts.onnx);
  for (const [name, text] of Object.entries(opts.files ?? {})) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

/**
 * A temporary folder serving test/fixtures/models/two-heads.onnx (logits [batch, 2]) with its
 * heads named "helpful" and "harmless" by config.json, and the given reward.json.
 */
export function twoHeadsDir(reward: Record<string, unknown>): string {
  return modelDir({
    onnx: 'two-heads.onnx',
    files: { 'config.json': JSON.stringify({ id2label: { 0: 'helpful', 1: 'harmless' } }), 'reward.json': JSON.stringify(reward) },
  });
}

/** POSTs JSON through app.inject and returns status, parsed body and headers. */
export async function post(app: FastifyInstance, url: string, body: unknown) {
  const res = await app.inject({ method: 'POST', url, payload: body as object });
  return { status: res.statusCode, body: res.json(), headers: res.headers };
}

/** Deterministic benign text of roughly `words` words (never HH data: tests must not print it). */
export function filler(seed: number, words: number): string {
  const vocab = ['the', 'garden', 'river', 'quietly', 'builds', 'a', 'small', 'boat', 'under', 'morning', 'light', 'and', 'counts', 'seven', 'stones', 'near', 'old', 'bridge'];
  let x = seed * 2654435761 + 1;
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out.push(vocab[x % vocab.length]!);
  }
  return out.join(' ') + '.';
}

/**
 * A real ORT backend that records the item lengths of every batch it runs; with `gate`, each
 * batch waits for it first (to hold work in the queue at a known moment).
 */
export function recordingBackend(batches: number[][], gate: () => Promise<void> = async () => {}): BackendFactory {
  return async (opts) => {
    const real = await OrtBackend.create(opts);
    return {
      info: real.info,
      concurrency: real.concurrency,
      async run(batch) {
        await gate();
        batches.push(Array.from(batch.lengths));
        return real.run(batch);
      },
      close: () => real.close(),
    };
  };
}
