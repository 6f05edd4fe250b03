import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { filler, post, startApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
before(async () => {
  t = await startApp({ MAX_QUEUE_ITEMS: '8', MAX_ITEMS_PER_REQUEST: '4' });
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
  assert.match(metrics, /reward_failures_total\{reason="overloaded"\} 8/);
});
