import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_MODEL, DEFAULT_NAME, filler, modelDir, post, startApp } from './app.js';

/** One series name the service exposes: its family's type and the label names its samples carry (none before a sample). */
export interface ExportedMetric {
  type: string;
  labels: Set<string>;
  /** Whether /metrics had a sample of it (a labelled counter has none before its first event). */
  sampled: boolean;
}

/**
 * What a real app's GET /metrics exposes after it served some traffic (a 200, a 404 and two 422s,
 * so request labels, failures and every batch histogram have samples; two models and an ensemble
 * of them, so every reward_watch_* series has samples too): every series name Prometheus would
 * store (a histogram as its _bucket, _sum and _count) mapped to its family's type and labels.
 */
export async function scrapeMetrics(): Promise<Map<string, ExportedMetric>> {
  const rw = JSON.parse(fs.readFileSync(path.join(DEFAULT_MODEL, 'reward.json'), 'utf8'));
  const twin = modelDir({ files: { 'reward.json': JSON.stringify({ ...rw, name: 'twin' }) } });
  const t = await startApp({ MODELS: `${DEFAULT_MODEL},${twin}`, ENSEMBLES: `pair=${DEFAULT_NAME}+twin` });
  try {
    await post(t.app, '/score', { items: [{ prompt: filler(3, 10), response: filler(4, 20) }, { text: filler(5, 30) }] });
    await post(t.app, '/score', { model: 'pair', items: [1, 2, 3, 4].map((i) => ({ prompt: filler(i, 10), response: filler(i + 9, 5 * i) })) });
    await t.app.inject({ method: 'GET', url: '/no-such-route' });
    await post(t.app, '/score', { items: [] });
    await post(t.app, '/score', { items: [{ text: filler(6, 2000) }], truncation: 'error' }); // 422, counted as a failure
    const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    const out = new Map<string, ExportedMetric>();
    // Every family the service declares, under the series names Prometheus stores.
    for (const [, family, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      const series = type === 'histogram' ? ['_bucket', '_sum', '_count'] : type === 'summary' ? ['', '_sum', '_count'] : [''];
      for (const suffix of series) out.set(family! + suffix, { type: type!, labels: new Set(), sampled: false });
    }
    for (const m of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? /gm)) {
      const series = out.get(m[1]!);
      if (series) series.sampled = true;
      for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) out.get(m[1]!)?.labels.add(l[1]!);
    }
    return out;
  } finally {
    await t.close();
  }
}
