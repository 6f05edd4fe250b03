import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { filler, modelDir, post, startApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
before(async () => {
  t = await startApp({ MODEL_DIR: modelDir({ files: { 'reward.json': JSON.stringify({ name: 'ranker', temperature: 0.5 }) } }) });
});
after(() => t.close());

const prompt = 'How do I boil an egg?';
const responses = [1, 2, 3, 4, 5, 6].map((i) => filler(i, 4 + i));

test('/rank: rewards as /score gives them, order best first, softmax(r/T) probabilities summing to 1', async () => {
  const r = await post(t.app, '/rank', { prompt, responses });
  assert.equal(r.status, 200);
  const s = await post(t.app, '/score', { items: responses.map((response) => ({ prompt, response })) });
  assert.deepEqual(r.body.rewards, s.body.rewards);
  const { rewards, order, probabilities } = r.body as { rewards: number[]; order: number[]; probabilities: number[] };
  assert.deepEqual([...order].sort(), [0, 1, 2, 3, 4, 5]);
  for (let i = 1; i < order.length; i++) assert.ok(rewards[order[i - 1]!]! >= rewards[order[i]!]!);
  assert.ok(Math.abs(probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  for (let i = 1; i < order.length; i++) assert.ok(probabilities[order[i - 1]!]! >= probabilities[order[i]!]!);
  // T = 0.5 from reward.json: the probability ratio of two responses is exp((r_a − r_b) / T).
  const [a, b] = [order[0]!, order[5]!];
  assert.ok(Math.abs(probabilities[a]! / probabilities[b]! - Math.exp((rewards[a]! - rewards[b]!) / 0.5)) < 1e-9);
  assert.deepEqual(r.body.truncated, [false, false, false, false, false, false]);
});

test('/rank with one response gives probability 1; bad bodies are 422', async () => {
  const one = await post(t.app, '/rank', { prompt, responses: ['only'] });
  assert.deepEqual(one.body.probabilities, [1]);
  assert.deepEqual(one.body.order, [0]);
  const none = await post(t.app, '/rank', { prompt, responses: [] });
  assert.equal(none.status, 422);
  const both = await post(t.app, '/rank', { prompt, messages: [{ role: 'user', content: 'x' }], responses: ['a'] });
  assert.equal(both.status, 422);
});
