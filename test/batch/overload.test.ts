import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { filler, post, startApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
before(async () => {
  t = await startApp({ MAX_QUEUE_ITEMS: '8', MAX_ITEMS_PER_REQUEST: '4', ADMISSION_HOLD_MS: '0' });
});
after(() => t.close());

test('with a tiny queue, excess requests get 429 at once and the accepted ones succeed', async () => {
  const request = (i: number) => ({ items: Array.from({ length: 4 }, (_, k) => ({ prompt: filler(i * 10 + k, 200), response: filler(k, 20) })) });
  const finished: number[] = [];
  const replies = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      post(t.app, '/score', request(i)).then((r) => {
        finished.push(r.status);
        return r;
      }),
    ),
  );
  const ok = replies.filter((r) => r.status === 200);
  const refused = replies.filter((r) => r.status === 429);
  assert.equal(ok.length, 2, 'two requests of 4 items fill a queue of 8');
  assert.equal(refused.length, 8);
  for (const r of refused) {
    assert.equal(r.body.error.code, 'overloaded');
    assert.equal(r.headers['retry-after'], '1');
  }
  // Refused at admission: every 429 was answered before any accepted request finished.
  assert.deepEqual(finished.slice(0, 8), Array(8).fill(429));
  // The accepted requests got the same rewards they get when the server is idle.
  const first = replies.findIndex((r) => r.status === 200);
  const again = await post(t.app, '/score', request(first));
  assert.deepEqual(again.body.rewards.map((x: number) => x.toFixed(5)), replies[first]!.body.rewards.map((x: number) => x.toFixed(5)));
  assert.equal(t.runtime.batcher.depth, 0);
  const metrics = (await t.app.inject({ url: '/metrics' })).body;
  assert.match(metrics, /reward_failures_total\{reason="overloaded",model="[^"]+"\} 8/);
});

test('a full queue on vLLM /classify is 503 with Retry-After (verl retries 5xx, never 4xx); on TEI /predict 429 Overloaded', async () => {
  const texts = (i: number) => Array.from({ length: 4 }, (_, k) => `\n\nHuman: ${filler(i * 10 + k, 200)}\n\nAssistant: ${filler(k, 20)}`);
  const classify = await Promise.all(Array.from({ length: 10 }, (_, i) => post(t.app, '/classify', { input: texts(i), truncate_prompt_tokens: -1 })));
  const refused = classify.filter((r) => r.status !== 200);
  assert.equal(refused.length, 8);
  for (const r of refused) {
    assert.equal(r.status, 503);
    assert.equal(r.headers['retry-after'], '1');
    assert.deepEqual(r.body.error, { message: r.body.error.message, type: 'Service Unavailable', param: null, code: 503 });
  }
  const predict = await Promise.all(
    Array.from({ length: 10 }, (_, i) => post(t.app, '/predict', { inputs: texts(i).map((x) => [x]), truncate: true })),
  );
  const full = predict.filter((r) => r.status !== 200);
  assert.equal(full.length, 8);
  for (const r of full) {
    assert.equal(r.status, 429);
    assert.equal(r.body.error_type, 'Overloaded');
  }
});
