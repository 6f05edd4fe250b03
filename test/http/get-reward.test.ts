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

// OpenRLHF's current async client, one sample per request: OpenRLHF/OpenRLHF @ 4635b7c9 :
// openrlhf/trainer/ray/rollout_worker.py (_compute_remote_reward) and @ 439f5791 :
// openrlhf/trainer/ray/vllm_engine/executor.py (_maybe_compute_remote_reward, _extract_scalar);
// the payload is {"query": [q], "prompts": [p], "labels": [l]} with l possibly None. The older
// client (@ 9b8641c1 : openrlhf/utils/remote_rm_utils.py) reads response["rewards"].
test("/get_reward as OpenRLHF's current client reads it: .get('rewards'), .get('scores') or rewards, .get('extra_logs') or {}", async () => {
  const q = query[1]!;
  const res = await t.app.inject({ method: 'POST', url: '/get_reward', payload: { query: [q], prompts: [q.slice(0, 30)], labels: [null] } });
  // aiohttp's response.json() needs an application/json content type.
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const rewardsInfo = res.json();
  const extract = (v: unknown) => (Array.isArray(v) ? v[0] : v); // executor.py _extract_scalar
  const reward = extract(rewardsInfo.rewards);
  const score = extract(rewardsInfo.scores ?? rewardsInfo.rewards);
  const extraLogs = rewardsInfo.extra_logs ?? {};
  const s = await post(t.app, '/score', { items: [{ text: q }] });
  assert.equal(reward, s.body.rewards[0]);
  assert.equal(score, s.body.rewards[0]);
  assert.equal(typeof extraLogs, 'object');
  // Older client: response["rewards"], one per query.
  assert.deepEqual(rewardsInfo['rewards'], [s.body.rewards[0]]);
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
