import { loadConfig } from '../config.js';
import { createRuntime } from '../core/runtime.js';
import { ModelTarget } from '../core/scoring-target.js';
import type { ScoreItem } from '../format/format.js';
import { createMetrics } from '../metrics.js';

/** What an evaluation scores against: a model folder in this process, or a running service. */
export interface EvalTarget {
  /** The model's id (reward.json `name`). */
  readonly model: string;
  /** Where it runs: the folder or the URL. */
  readonly where: string;
  /** T of σ(Δ/T), from the model's reward.json. */
  readonly temperature: number;
  /** Raw rewards of the items, in order. */
  score(items: ScoreItem[]): Promise<number[]>;
  close(): Promise<void>;
}

/**
 * A model folder served in-process by the service's own runtime (format → tokenize → batch →
 * infer), so the rewards are the ones `/score` would return. Settings such as INFER_WORKERS come
 * from the environment, as for the server.
 */
export async function modelDirTarget(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<EvalTarget> {
  const config = loadConfig({ ...env, MODEL_DIR: dir }, []);
  const runtime = await createRuntime(config, createMetrics());
  // As the server does before ready: refuse a graph that reads padding, and measure steady state.
  try {
    await runtime.selfCheck();
    await runtime.warmup();
  } catch (err) {
    await runtime.close();
    throw err;
  }
  const target = new ModelTarget(runtime); // the reward /score returns: head, weights, format
  return {
    model: runtime.folder.name,
    where: dir,
    temperature: runtime.folder.reward.temperature,
    async score(items) {
      return (await target.score(items, { truncation: 'auto' })).rewards;
    },
    close: () => runtime.close(),
  };
}

async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: unknown; retryAfter: number }> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep the text: the error below quotes the status only
  }
  return { status: res.status, body, retryAfter: Number(res.headers.get('retry-after') ?? '1') };
}

const errorOf = (body: unknown) => (body as { error?: { code?: string; message?: string } })?.error;

/** A running service: POST /score, with the model's name and temperature from GET /v1/models. */
export async function urlTarget(base: string): Promise<EvalTarget> {
  const root = base.replace(/\/+$/, '');
  const models = await getJson(`${root}/v1/models`);
  const model = (models.body as { data?: { id: string; temperature: number }[] })?.data?.[0];
  if (models.status !== 200 || !model) throw new Error(`${root}/v1/models answered ${models.status}; is the service ready?`);
  return {
    model: model.id,
    where: root,
    temperature: model.temperature,
    async score(items) {
      for (let attempt = 0; ; attempt++) {
        const r = await getJson(`${root}/score`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ items }),
        });
        if (r.status === 200) return (r.body as { rewards: number[] }).rewards;
        // A full queue is back-pressure, not failure: wait as told and retry.
        if (r.status === 429 && attempt < 20) {
          await new Promise((ok) => setTimeout(ok, Math.max(1, r.retryAfter) * 1000));
          continue;
        }
        const e = errorOf(r.body);
        throw new Error(`POST ${root}/score answered ${r.status}${e ? ` ${e.code}: ${e.message}` : ''}`);
      }
    },
    async close() {},
  };
}
