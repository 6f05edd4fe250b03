import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sigmoid } from '../../src/postprocess/postprocess.js';
import { filler, modelDir, post, startApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
before(async () => {
  t = await startApp();
});
after(() => t.close());

const pairs = [
  { prompt: filler(1, 12), a: filler(2, 9), b: filler(3, 25) },
  { prompt: filler(4, 30), chosen: filler(5, 4), rejected: filler(6, 14) },
];

test('/compare probability equals σ((r_a − r_b)/T) of /score rewards', async () => {
  const T = t.runtime.folder.reward.temperature;
  const c = await post(t.app, '/compare', { pairs });
  assert.equal(c.status, 200);
  const s = await post(t.app, '/score', {
    items: [
      { prompt: pairs[0]!.prompt, response: pairs[0]!.a },
      { prompt: pairs[0]!.prompt, response: pairs[0]!.b },
      { prompt: pairs[1]!.prompt, response: pairs[1]!.chosen },
      { prompt: pairs[1]!.prompt, response: pairs[1]!.rejected },
    ],
  });
  const r = s.body.rewards as number[];
  for (let i = 0; i < 2; i++) {
    const p = c.body.pairs[i];
    assert.ok(Math.abs(p.reward_a - r[2 * i]!) <= 1e-6);
    assert.ok(Math.abs(p.reward_b - r[2 * i + 1]!) <= 1e-6);
    assert.ok(Math.abs(p.margin - (p.reward_a - p.reward_b)) <= 1e-12);
    assert.ok(Math.abs(p.p_a_over_b - sigmoid((r[2 * i]! - r[2 * i + 1]!) / T)) <= 1e-6);
  }
});

test('/compare scores each distinct (prompt, response) once', async () => {
  const prompt = filler(7, 10);
  const c = await post(t.app, '/compare', {
    pairs: [
      { prompt, a: 'yes', b: 'no' },
      { prompt, a: 'no', b: 'yes' },
      { prompt, a: 'yes', b: 'yes' },
    ],
  });
  assert.equal(c.body.usage.scored_items, 2);
  assert.equal(c.body.pairs[2].p_a_over_b, 0.5);
  assert.ok(Math.abs(c.body.pairs[0].p_a_over_b + c.body.pairs[1].p_a_over_b - 1) <= 1e-9);
});

test('the temperature in reward.json scales the margin', async () => {
  const dir = modelDir({
    files: { 'reward.json': JSON.stringify({ name: 'hot', temperature: 4 }) },
  });
  const hot = await startApp({ MODEL_DIR: dir });
  try {
    const c = await post(hot.app, '/compare', { pairs: [pairs[0]] });
    const p = c.body.pairs[0];
    assert.equal(c.body.model, 'hot');
    assert.ok(Math.abs(p.p_a_over_b - sigmoid(p.margin / 4)) <= 1e-9);
  } finally {
    await hot.close();
  }
});
