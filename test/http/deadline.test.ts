import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { post, recordingBackend, startApp, type TestApp } from '../helpers/app.js';

// Batches wait at this gate while it is shut, so items stay queued past their deadline.
let shut = false;
let waiting: (() => void)[] = [];
const gate = () => (shut ? new Promise<void>((r) => waiting.push(r)) : Promise.resolve());
const open = () => {
  shut = false;
  for (const r of waiting.splice(0)) r();
};

let t: TestApp;
before(async () => {
  // One worker, one item per batch: of three items, two go to the backend, the third stays queued.
  t = await startApp({ INFER_WORKERS: '1', MAX_BATCH_SIZE: '1', MAX_TIMEOUT_MS: '1500' }, recordingBackend([], gate));
});
after(() => t.close());

const metric = async (name: string) => t.runtime.metrics.registry.getSingleMetricAsString(name);
const three = { items: [{ text: 'one' }, { text: 'two two' }, { text: 'three three three' }] };

test('items still queued at timeout_ms are dropped and the request gets 504 deadline_exceeded', async () => {
  shut = true;
  const r = await post(t.app, '/score', { ...three, timeout_ms: 100 });
  assert.equal(r.status, 504);
  assert.equal(r.body.error.code, 'deadline_exceeded');
  assert.match(r.body.error.message, /timeout_ms \(100 ms\)/);
  assert.match(await metric('reward_dropped_items_total'), /reason="deadline_exceeded",model="[^"]+"\} 1/);
  assert.match(await metric('reward_failures_total'), /reason="deadline_exceeded",model="[^"]+"\} 1/);
  open();
  const next = await post(t.app, '/score', { items: [{ text: 'after' }], timeout_ms: 1500 });
  assert.equal(next.status, 200);
  assert.equal(t.runtime.batcher.depth, 0, 'no capacity leaked by the dropped item');
});

test('timeout_ms above MAX_TIMEOUT_MS is lowered to it; /compare honours it too', async () => {
  shut = true;
  const r = await post(t.app, '/compare', { pairs: [{ prompt: 'p', a: 'x', b: 'y y' }, { prompt: 'q', a: 'z z z', b: 'w' }], timeout_ms: 10_000_000 });
  assert.equal(r.status, 504);
  assert.match(r.body.error.message, /timeout_ms \(1500 ms\)/);
  open();
  assert.equal((await post(t.app, '/compare', { pairs: [{ prompt: 'p', a: 'x', b: 'y' }] })).status, 200);
});

test('timeout_ms must be a positive integer', async () => {
  for (const bad of [0, -5, 1.5, '100', null]) {
    const r = await post(t.app, '/score', { items: [{ text: 'a' }], timeout_ms: bad });
    assert.equal(r.status, 422, String(bad));
    assert.equal(r.body.error.code, 'invalid_request');
    assert.match(r.body.error.message, /timeout_ms/);
  }
});
