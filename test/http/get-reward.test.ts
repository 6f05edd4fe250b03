import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { filler, post, startApp, type TestApp, DEFAULT_NAME } from '../helpers/app.js';

let t: TestApp;
before(async () => {
  t = await startApp();
});
after(() => t.close());

const query = [1, 2, 3].map((i) => `\n\nHuman: ${filler(i, 6)}\n\nAssistant: ${filler(i + 10, 9)}</s>`);

test('/get_reward (OpenRLHF remote RM): rewards and scores equal /score on the same texts; extra_logs is an object', async () => {
  const r = await post(t.app, '/get_reward', { query, prompts: query.map((q) => q.slice(0, 20)), labels: [null, 1, 'x'] });
  assert.equal(r.status, 200);
  assert.deepEqual(Object.keys(r.body).sort(), ['extra_logs', 'rewards', 'scores']);
  const s = await post(t.app, '/score', { items: query.map((text) => ({ text })) });
  assert.deepEqual(r.body.rewards, s.body.rewards);
  assert.deepEqual(r.body.scores, s.body.rewards);
  assert.deepEqual(r.body.extra_logs, {});
});

test('/get_reward: one query still gets lists', async () => {
  const r = await post(t.app, '/get_reward', { query: [query[0]], prompts: null, labels: null });
  assert.equal(r.status, 200);
  assert.ok(Array.isArray(r.body.rewards) && r.body.rewards.length === 1);
  assert.ok(Array.isArray(r.body.scores) && r.body.scores.length === 1);
  assert.equal(typeof r.body.rewards[0], 'number');
});

test('/get_reward errors are 4xx statuses with the envelope; an unknown ?model= is 404', async () => {
  const bad = await post(t.app, '/get_reward', { query: 'not a list' });
  assert.equal(bad.status, 422);
  assert.equal(bad.body.error.code, 'invalid_request');
  const empty = await post(t.app, '/get_reward', { query: [] });
  assert.equal(empty.status, 422);
  const res = await t.app.inject({ method: 'POST', url: '/get_reward?model=nope', payload: { query } });
  assert.equal(res.statusCode, 404);
  assert.equal(res.json().error.code, 'model_not_found');
  const named = await t.app.inject({ method: 'POST', url: `/get_reward?model=${DEFAULT_NAME}&normalize=true`, payload: { query } });
  assert.equal(named.statusCode, 200);
  const score = await post(t.app, '/score', { items: query.map((text) => ({ text })), normalize: true });
  assert.deepEqual(named.json().rewards, score.body.rewards);
});

test('responses carry TEI-style timing headers in ms and the request id', async () => {
  const res = await t.app.inject({ method: 'POST', url: '/score', payload: { items: [{ text: 'hi' }] }, headers: { 'x-request-id': 'abc-123' } });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['x-request-id'], 'abc-123');
  const ms = (h: string) => Number(res.headers[h]);
  for (const h of ['x-queue-time', 'x-tokenization-time', 'x-inference-time', 'x-total-time']) {
    assert.match(String(res.headers[h]), /^\d+\.\d{2}$/, h);
  }
  assert.ok(ms('x-inference-time') > 0);
  // The stages happen one after another inside the request.
  assert.ok(ms('x-tokenization-time') + ms('x-queue-time') + ms('x-inference-time') <= ms('x-total-time') + 0.02);
});
