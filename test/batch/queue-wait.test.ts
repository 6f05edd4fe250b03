// Admission by expected wait: under overload, a request that would wait longer than
// MAX_QUEUE_WAIT_MS behind the admitted work gets 429 with Retry-After, and the accepted ones
// wait about the bound, not the length of the whole queue: the work admitted is what drains in
// about the bound (a count, not a clock).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { post, recordingBackend, startApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
before(async () => {
  // A slow backend (each batch of at most 4 items takes 100 ms): about 40 items/s.
  const slow = () => new Promise<void>((r) => setTimeout(r, 100));
  t = await startApp({ INFER_WORKERS: '1', MAX_BATCH_SIZE: '4', MAX_QUEUE_WAIT_MS: '600', MAX_QUEUE_ITEMS: '4096' }, recordingBackend([], slow));
});
after(() => t.close());

const item = (i: number) => ({ prompt: `Question ${i}?`, response: `Answer ${i}.` });

test('overload: 429 with Retry-After beyond the wait bound; accepted requests wait about the bound', async () => {
  // Warm the drain-rate estimate with two seconds of steady work.
  await Promise.all(Array.from({ length: 80 }, (_, i) => post(t.app, '/score', { items: [item(i)] })));
  // Then 400 items at once: 10 s of work at this rate.
  const replies = await Promise.all(
    Array.from({ length: 100 }, async (_, i) => {
      const r = await t.app.inject({ method: 'POST', url: '/score', payload: { items: [item(i), item(i + 1), item(i + 2), item(i + 3)] } });
      return { status: r.statusCode, retryAfter: r.headers['retry-after'], body: r.json() };
    }),
  );
  const accepted = replies.filter((r) => r.status === 200);
  const refused = replies.filter((r) => r.status === 429);
  assert.equal(accepted.length + refused.length, replies.length, 'only 200 and 429');
  assert.ok(refused.length > 50, `${refused.length} refused`);
  assert.ok(accepted.length >= 5, `${accepted.length} accepted`);
  // At most two batches of 4 are in flight (one running, one prepared ahead), each held 100 ms:
  // at most 80 items/s, so 600 ms of queue is at most 48 items, 12 requests. 16 leaves
  // room for requests read after the first batches drained; admitting by queue room alone
  // (MAX_QUEUE_ITEMS 4096) would take all 100.
  assert.ok(accepted.length <= 16, `${accepted.length} accepted: more than can drain in 600 ms`);
  for (const r of refused) {
    assert.equal(r.body.error.code, 'overloaded');
    assert.ok(Number(r.retryAfter) >= 1, `Retry-After ${r.retryAfter}`);
  }
  assert.match(refused[0]!.body.error.message, /MAX_QUEUE_WAIT_MS 600/);
});
