import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { post, startApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
before(async () => {
  t = await startApp({ MAX_EVENT_LOOP_DELAY_MS: '100' });
});
after(() => t.close());

const underPressure = () => (t.app as unknown as { isUnderPressure(): boolean }).isUnderPressure();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Keeps the event loop blocked in 250 ms slices until the guard's 1 s sample sees it. */
async function saturate(): Promise<void> {
  for (let i = 0; i < 40 && !underPressure(); i++) {
    const end = Date.now() + 250;
    while (Date.now() < end); // eslint-disable-line no-empty
    await sleep(1);
  }
  assert.ok(underPressure(), 'the guard saw the blocked loop');
}

test('a saturated event loop gets 503 server_busy at once; liveness and metrics still answer', async () => {
  await saturate();
  const [score, ready, live, metrics] = await Promise.all([
    post(t.app, '/score', { items: [{ text: 'a' }] }),
    t.app.inject({ url: '/health/ready' }),
    t.app.inject({ url: '/health/live' }),
    t.app.inject({ url: '/metrics' }),
  ]);
  assert.equal(score.status, 503);
  assert.equal(score.body.error.code, 'server_busy');
  assert.equal(score.headers['retry-after'], '1');
  assert.equal(ready.statusCode, 503, 'a saturated instance leaves the rotation');
  assert.equal(live.statusCode, 200);
  assert.equal(metrics.statusCode, 200);
  const counted = await t.runtime.metrics.registry.getSingleMetricAsString('reward_failures_total');
  assert.match(counted, /reason="server_busy",model="none"\} [1-9]/);
  // Once the loop is idle again the next sample clears the guard.
  while (underPressure()) await sleep(50);
  assert.equal((await post(t.app, '/score', { items: [{ text: 'a' }] })).status, 200);
});
