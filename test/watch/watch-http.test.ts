import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { DEFAULT_MODEL, DEFAULT_NAME, filler, modelDir, post, startApp, type TestApp } from '../helpers/app.js';
import { assertAlerts } from '../helpers/promtool.js';

// End to end: real models, real HTTP, the alert rules of k8s/ evaluated by promtool on real scrapes.
// The texts are benign filler (test/helpers/app.ts); their rewards are measured first and
// items are chosen by them. The default model's rewards fall with length on these texts.
const RW = JSON.parse(fs.readFileSync(path.join(DEFAULT_MODEL, 'reward.json'), 'utf8'));
const TRAINING: { mean: number; std: number } = RW.normalization;
const WINDOW = 100;
// The default model under another name and prompt template (so it scores prompt/response items a
// little differently: an ensemble with it disagrees), and a narrower stated training distribution.
const VARIANT = 'hh-variant';
const VARIANT_STD = 0.1;

let t: TestApp;
before(async () => {
  const variant = modelDir({
    files: { 'reward.json': JSON.stringify({ ...RW, name: VARIANT, template: '\n\nHuman: {prompt}\n\nAssistant: Sure! {response}', normalization: { mean: TRAINING.mean, std: VARIANT_STD } }) },
  });
  t = await startApp({ MODELS: `${DEFAULT_MODEL},${variant}`, ENSEMBLES: `pair=${DEFAULT_NAME}+${VARIANT}`, WATCH_WINDOW: String(WINDOW) });
});
after(() => t.close());

type Item = { prompt: string; response: string };
const score = async (model: string, items: Item[]) => {
  const r = await post(t.app, '/score', { model, items });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
};
const stats = async (model: string) => (await t.app.inject({ url: `/v1/stats?model=${model}` })).json();
/** `n` items cycling through `items`. */
const cycle = (items: Item[], n: number) => Array.from({ length: n }, (_, i) => items[i % items.length]!);
/**
 * promtool's verdict on a real scrape: each alert named fires for exactly these models (with
 * `model`: for that model only, and every other alert is silent for it).
 */
async function alerts(expected: Record<string, string[]>, what: string, opts: { model?: string } = {}) {
  assertAlerts((await t.app.inject({ url: '/metrics' })).body, expected, opts, what);
}

test('per-model metrics, /v1/stats and every alert follow a synthetic drift, and stay quiet without one', async () => {
  // 240 responses of 3 to 62 words, scored by the ensemble: both members' rewards and their spread.
  const pool: Item[] = Array.from({ length: 240 }, (_, i) => ({ prompt: filler(1000 + i, 6), response: filler(i, 3 + (i % 60)) }));
  const measured = await score('pair', pool);
  const reward: number[] = measured.ensemble.members[DEFAULT_NAME];
  const spread: number[] = measured.ensemble.std;

  // Ensemble disagreement: steady so far (the window's mean is no higher than the lifetime mean).
  await alerts({ EnsembleDisagreementRising: [] }, 'steady disagreement');
  let s = await stats('pair');
  assert.equal(s.kind, 'ensemble');
  assert.ok(s.disagreement.mean > 0 && s.disagreement.p95 >= s.disagreement.p50);
  // Then the members disagree more: the 25 items they disagree on most, four times over.
  const byspread = pool.map((it, i) => ({ it, v: spread[i]! })).sort((x, y) => y.v - x.v);
  const top = byspread.slice(0, 25);
  await score('pair', cycle(top.map((x) => x.it), WINDOW));
  s = await stats('pair');
  const expected = top.reduce((acc, x) => acc + x.v, 0) / top.length;
  assert.ok(Math.abs(s.disagreement.mean - expected) < 1e-5, `${s.disagreement.mean} vs ${expected}`);
  await alerts({ EnsembleDisagreementRising: ['pair'] }, 'the members disagreeing more');

  // No drift: rewards near the training mean, balanced above and below it at every length.
  const quiet: Item[] = [];
  for (let bin = 0; bin < 7; bin++) {
    const inBin = pool.map((it, i) => ({ it, r: reward[i]! })).filter((x, i) => Math.floor((3 + (i % 60)) / 10) === bin && Math.abs(x.r - TRAINING.mean) < 0.5 * TRAINING.std);
    const above = inBin.filter((x) => x.r >= TRAINING.mean).sort((x, y) => x.r - y.r);
    const below = inBin.filter((x) => x.r < TRAINING.mean).sort((x, y) => y.r - x.r);
    const n = Math.min(above.length, below.length);
    quiet.push(...above.slice(0, n).map((x) => x.it), ...below.slice(0, n).map((x) => x.it));
  }
  assert.ok(quiet.length >= 10, `${quiet.length} balanced items`);
  await score(DEFAULT_NAME, cycle(quiet, WINDOW));
  s = await stats(DEFAULT_NAME);
  assert.equal(s.count, WINDOW);
  assert.ok(Math.abs(s.drift_std) < 0.5 && s.beyond_3std === 0 && Math.abs(s.length.pearson) < 0.3, JSON.stringify(s));
  await alerts({}, 'no alert without drift', { model: DEFAULT_NAME });

  // Drift: the highest-scoring responses, over and over, as a policy exploiting the model would send.
  const best = pool.map((it, i) => ({ it, r: reward[i]! })).sort((x, y) => y.r - x.r).slice(0, 10);
  const bestMean = best.reduce((acc, x) => acc + x.r, 0) / best.length;
  await score(DEFAULT_NAME, cycle(best.map((x) => x.it), WINDOW));
  await score(VARIANT, cycle(best.map((x) => x.it), WINDOW));
  s = await stats(DEFAULT_NAME);
  assert.ok(Math.abs(s.mean - bestMean) < 1e-5);
  assert.ok(Math.abs(s.drift_std - (bestMean - TRAINING.mean) / TRAINING.std) < 1e-4);
  assert.ok(s.drift_std > 2, `drift ${s.drift_std}`);
  assert.ok(s.quantiles.p05 > TRAINING.mean + TRAINING.std);
  const variant = await stats(VARIANT);
  assert.ok(variant.beyond_3std > 0.5, `${variant.beyond_3std} beyond 3 std of N(${TRAINING.mean}, ${VARIANT_STD}²)`);
  // The default model: none beyond 3 of its wider std. (The ensemble has no training distribution: no drift.)
  await alerts({ RewardDriftFromTraining: [DEFAULT_NAME, VARIANT], RewardOutOfDistribution: [VARIANT] }, 'the best responses over and over');

  // Length coupling: 100 responses of 3 to 62 words, in pool order.
  await score(DEFAULT_NAME, pool.slice(0, WINDOW));
  s = await stats(DEFAULT_NAME);
  assert.ok(s.length.pearson < -0.5 && s.length.spearman < -0.5, JSON.stringify(s.length));
  await alerts({ RewardTracksLength: [DEFAULT_NAME] }, 'the drift is gone, the coupling is not', { model: DEFAULT_NAME });

  // Per-model series: each model's items and batches under its own name.
  const text = (await t.app.inject({ url: '/metrics' })).body;
  for (const m of [DEFAULT_NAME, VARIANT]) {
    assert.match(text, new RegExp(`^reward_inferred_items_total\\{model="${m}"\\} \\d+`, 'm'));
    assert.match(text, new RegExp(`^reward_batch_size_count\\{model="${m}"\\} \\d+`, 'm'));
    assert.match(text, new RegExp(`^reward_watch_reward_bucket\\{model="${m}",le="\\+Inf"\\} \\d+`, 'm'));
  }
  assert.match(text, /^reward_http_request_duration_seconds_count\{route="\/score",method="POST",status="200",model="pair"\} \d+/m);
  assert.doesNotMatch(text, /reward_watch_reward_bucket\{model="pair"/, 'an ensemble has no training distribution');
});

test('unknown model names create no series; /v1/stats refuses them and answers for the default model', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await post(t.app, '/score', { model: `nope-${i}`, items: [{ text: 'x' }] })).status, 404);
  assert.equal((await t.app.inject({ url: '/v1/stats?model=nope' })).statusCode, 404);
  const text = (await t.app.inject({ url: '/metrics' })).body;
  assert.doesNotMatch(text, /nope/);
  assert.match(text, /^reward_failures_total\{reason="model_not_found",model="none"\} [3-9]/m);
  const def = (await t.app.inject({ url: '/v1/stats' })).json();
  assert.equal(def.model, DEFAULT_NAME);
  assert.deepEqual(Object.keys(def).sort(), ['beyond_3std', 'count', 'disagreement', 'drift_std', 'histogram', 'kind', 'length', 'max', 'mean', 'min', 'model', 'quantiles', 'recent', 'std', 'total', 'training', 'window']);
});

test('WATCH=false: no watch series, /v1/stats says the watch is off', async () => {
  const off = await startApp({ WATCH: 'false' });
  try {
    assert.equal((await post(off.app, '/score', { items: [{ text: 'a' }, { text: 'b c' }] })).status, 200);
    const text = (await off.app.inject({ url: '/metrics' })).body;
    assert.doesNotMatch(text, /^reward_watch_\w+\{/m);
    const r = await off.app.inject({ url: '/v1/stats' });
    assert.equal(r.statusCode, 404);
    assert.match(r.json().error.message, /WATCH=false/);
  } finally {
    await off.close();
  }
});
