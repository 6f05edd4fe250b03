import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { buildApp } from '../../src/app.js';
import { Lifecycle } from '../../src/core/lifecycle.js';
import { createMetrics } from '../../src/metrics.js';
import { DEFAULT_MODEL, startApp, testConfig, type TestApp } from '../helpers/app.js';

let t: TestApp;
before(async () => {
  t = await startApp();
});
after(() => t.close());

test('before the model is loaded: live 200, ready 503 not_ready, scoring 503', async () => {
  const app = await buildApp({ config: testConfig(), lifecycle: new Lifecycle(createMetrics()) });
  assert.equal((await app.inject({ url: '/health/live' })).statusCode, 200);
  const ready = await app.inject({ url: '/health/ready' });
  assert.equal(ready.statusCode, 503);
  assert.equal(ready.json().error.code, 'not_ready');
  const score = await app.inject({ method: 'POST', url: '/score', payload: { items: [{ text: 'a' }] } });
  assert.equal(score.statusCode, 503);
  assert.equal((await app.inject({ url: '/v1/models' })).statusCode, 503);
  await app.close();
});

test('/v1/models describes the model and its serving settings', async () => {
  const res = await t.app.inject({ url: '/v1/models' });
  const m = res.json().data[0];
  const reward = JSON.parse(fs.readFileSync(path.join(DEFAULT_MODEL, 'reward.json'), 'utf8'));
  assert.equal(m.id, reward.name);
  assert.equal(m.max_length, reward.max_length);
  assert.equal(m.temperature, reward.temperature);
  assert.deepEqual(m.normalization, reward.normalization);
  assert.equal(m.execution_provider, 'cpu');
  assert.deepEqual(m.inputs, ['input_ids', 'attention_mask']);
  assert.deepEqual(m.outputs, [{ index: 0, name: 'reward' }]);
  assert.equal(m.batching.max_batch_size, 64);
  // OpenAI / vLLM model card fields (vllm-project/vllm @ 4fe45004 : vllm/entrypoints/openai/models/serving.py).
  assert.equal(m.object, 'model');
  assert.equal(m.owned_by, 'reward-server');
  assert.equal(m.max_model_len, m.max_length);
  assert.ok(Number.isInteger(m.created) && m.created <= Date.now() / 1000 && m.created > Date.now() / 1000 - 3600);
  assert.equal(res.json().object, 'list');
});

test('/metrics exports the service metrics under one prefix', async () => {
  await t.app.inject({ method: 'POST', url: '/score', payload: { items: [{ text: 'a' }] } });
  const body = (await t.app.inject({ url: '/metrics' })).body;
  for (const name of [
    'reward_http_request_duration_seconds_bucket',
    'reward_queue_wait_seconds_bucket',
    'reward_tokenization_duration_seconds_bucket',
    'reward_inference_duration_seconds_bucket',
    'reward_batch_size_bucket',
    'reward_batch_tokens_bucket',
    'reward_batch_padding_ratio_bucket',
    'reward_queue_depth',
    'reward_process_resident_memory_bytes',
  ]) {
    assert.match(body, new RegExp(`^${name}`, 'm'), name);
  }
  assert.match(body, /reward_http_request_duration_seconds_count\{route="\/score",method="POST",status="200",model="[^"]+"\} \d+/);
  const names = [...body.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!);
  assert.ok(names.every((n) => n.startsWith('reward_')));
});

test('requests carry an x-request-id, reusing a sane incoming one', async () => {
  const mine = await t.app.inject({ url: '/health/live', headers: { 'x-request-id': 'trainer-7.step-42' } });
  assert.equal(mine.headers['x-request-id'], 'trainer-7.step-42');
  const odd = await t.app.inject({ url: '/health/live', headers: { 'x-request-id': 'bad id with spaces' } });
  assert.match(String(odd.headers['x-request-id']), /^[0-9a-f-]{36}$/);
});

test('draining: ready and new work answer 503 shutting_down', async () => {
  const other = await startApp();
  other.lifecycle.drain();
  const ready = await other.app.inject({ url: '/health/ready' });
  assert.equal(ready.statusCode, 503);
  assert.equal(ready.json().error.code, 'shutting_down');
  const score = await other.app.inject({ method: 'POST', url: '/score', payload: { items: [{ text: 'a' }] } });
  assert.equal(score.json().error.code, 'shutting_down');
  await other.close();
});
