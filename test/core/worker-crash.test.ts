import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { BackendFactory } from '../../src/core/runtime.js';
import type { ServiceError } from '../../src/errors.js';
import { OrtBackend } from '../../src/infer/ort-backend.js';
import { post, startApp, type TestApp } from '../helpers/app.js';

let onKilled!: () => void;
const killed = new Promise<void>((r) => (onKilled = r));

/**
 * The real backend, except that a batch holding an item of exactly 7 tokens goes to an ORT
 * worker thread that has been told to exit first: the thread really dies with the batch.
 */
const killOnSeven: BackendFactory = async (opts) => {
  const real = await OrtBackend.create(opts);
  return {
    info: real.info,
    concurrency: real.concurrency,
    get healthy() {
      return real.healthy;
    },
    run(batch) {
      if (batch.lengths.includes(7)) void real.crashWorker(0).then(onKilled); // one worker: it gets this batch next
      return real.run(batch);
    },
    close: () => real.close(),
  };
};

let t: TestApp;
before(async () => {
  t = await startApp({ INFER_WORKERS: '1' }, killOnSeven);
});
after(() => t.close());

test('an ORT worker that dies fails only its batch; it is restarted, ready is 503 until then', async () => {
  const seven = { text: 'one two three four' }; // <s> + 5 text tokens + </s>
  const dying = post(t.app, '/score', { items: [seven] });
  await killed;
  // In the turn the death was seen: a replacement reports ready by a message, which can only
  // arrive in a later turn, so this synchronous check (what /health/ready runs) cannot race it.
  assert.throws(() => t.lifecycle.checkReady(), (e: ServiceError) => e.code === 'not_ready' && /being restarted/.test(e.message));
  const behind = post(t.app, '/score', { items: [{ text: 'ok' }] }); // waits for the new worker
  const dead = await dying;
  assert.equal(dead.status, 500);
  assert.deepEqual(dead.body, { error: { code: 'inference_failed', message: 'Inference failed' } });
  const other = await behind;
  assert.equal(other.status, 200, 'the batch behind it runs on the new worker');
  assert.equal(other.body.rewards.length, 1);
  const restarts = () => t.runtime.metrics.registry.getSingleMetricAsString('reward_worker_restarts_total');
  assert.match(await restarts(), /pool="infer"\} 1/);
  while ((await t.app.inject({ url: '/health/ready' })).statusCode !== 200) await new Promise((r) => setTimeout(r, 20));
  const next = await post(t.app, '/score', { items: [{ text: 'ok' }, { text: 'fine too' }] });
  assert.equal(next.status, 200);
  assert.ok(next.body.rewards.every((x: number) => Number.isFinite(x)));
  assert.equal(t.runtime.batcher.depth, 0);
  assert.match(await restarts(), /pool="infer"\} 1/);
});
