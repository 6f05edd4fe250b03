import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { filler, post, startApp, type TestApp, twoHeadsDir } from '../helpers/app.js';

const items = [1, 2, 3].map((i) => ({ prompt: filler(i, 10), response: filler(i + 5, 6) }));
const near = (a: number, b: number) => Math.abs(a - b) <= 1e-6;

let t: TestApp;
before(async () => {
  // test/fixtures/models/two-heads.onnx: logits [batch, 2], named by config.json id2label.
  const dir = twoHeadsDir({ name: 'hh-two-heads', head_weights: { helpful: 0.75, harmless: 0.25 }, normalization: { mean: 0.5, std: 2 } });
  t = await startApp({ MODEL_DIR: dir });
});
after(() => t.close());

test('a multi-head model returns every head by name and the reward as the weighted sum of reward.json', async () => {
  const r = await post(t.app, '/score', { items });
  assert.equal(r.status, 200);
  const { helpful, harmless } = r.body.heads as Record<string, number[]>;
  assert.equal(helpful!.length, 3);
  assert.notDeepEqual(helpful, harmless);
  r.body.rewards.forEach((x: number, i: number) => assert.ok(near(x, 0.75 * helpful![i]! + 0.25 * harmless![i]!)));
  const m = (await t.app.inject({ url: '/v1/models' })).json().data[0];
  assert.deepEqual(m.head_weights, { helpful: 0.75, harmless: 0.25 });
});

test('per-request "weights" replace the configured ones; an unknown head is a 422', async () => {
  const base = await post(t.app, '/score', { items });
  const only = await post(t.app, '/score', { items, weights: { harmless: 1 } });
  assert.deepEqual(only.body.rewards.map(Math.fround), base.body.heads.harmless.map(Math.fround));
  const mix = await post(t.app, '/score', { items, weights: { helpful: 2, harmless: -1 } });
  mix.body.rewards.forEach((x: number, i: number) => assert.ok(near(x, 2 * base.body.heads.helpful[i] - base.body.heads.harmless[i])));
  const bad = await post(t.app, '/score', { items, weights: { honest: 1 } });
  assert.equal(bad.status, 422);
  assert.match(bad.body.error.message, /"honest" is not a head of model hh-two-heads \(heads: helpful, harmless\)/);
});

test('"normalize": true gives (r − mean)/std with the stored statistics and keeps the raw rewards', async () => {
  const raw = await post(t.app, '/score', { items });
  assert.equal(raw.body.raw_rewards, undefined);
  const n = await post(t.app, '/score', { items, normalize: true });
  assert.deepEqual(n.body.raw_rewards, raw.body.rewards);
  n.body.rewards.forEach((x: number, i: number) => assert.ok(near(x, (raw.body.rewards[i] - 0.5) / 2)));
  const ranked = await post(t.app, '/rank', { prompt: 'p', responses: ['a', 'bb', 'ccc'], normalize: true });
  assert.equal(ranked.body.raw_rewards.length, 3);
});
