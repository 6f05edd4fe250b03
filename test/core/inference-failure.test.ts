import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { BackendFactory } from '../../src/core/runtime.js';
import { OrtBackend } from '../../src/infer/ort-backend.js';
import { post, startApp, type TestApp } from '../helpers/app.js';

/** The real backend, except that a batch holding an item of exactly 7 tokens fails on purpose. */
const failOnSeven: BackendFactory = async (opts) => {
  const real = await OrtBackend.create(opts);
  return {
    info: real.info,
    concurrency: real.concurrency,
    run: (batch) => (batch.lengths.includes(7) ? Promise.reject(new Error('/internal/path: device lost')) : real.run(batch)),
    close: () => real.close(),
  };
};

let t: TestApp;
before(async () => {
  t = await startApp({ INFER_WORKERS: '1' }, failOnSeven);
});
after(() => t.close());

test('a failing batch gives its requests 500 inference_failed; the next requests succeed', async () => {
  const seven = { text: 'one two three four' }; // <s> + 5 text tokens + </s>
  const ok = await post(t.app, '/score', { items: [{ text: 'ok' }] });
  assert.equal(ok.status, 200);
  assert.notEqual(ok.body.usage.tokens, 7);
  const r = await post(t.app, '/score', { items: [seven] });
  assert.equal(r.status, 500);
  assert.deepEqual(r.body, { error: { code: 'inference_failed', message: 'Inference failed' } });
  const metrics = await t.runtime.metrics.registry.getSingleMetricAsString('reward_failures_total');
  assert.match(metrics, /reason="inference_failed",model="[^"]+"\} 1/);
  const next = await post(t.app, '/score', { items: [{ text: 'ok' }] });
  assert.equal(next.status, 200);
  assert.equal(t.runtime.batcher.depth, 0);
});
