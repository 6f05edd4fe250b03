import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { filler, post, recordingBackend, startApp, type TestApp } from '../helpers/app.js';

const batches: number[][] = [];

let t: TestApp;
before(async () => {
  // A budget large enough, and no padding floor, so that short and long items share a batch.
  t = await startApp({ MAX_WAIT_MS: '20', MAX_BATCH_TOKENS: '65536', MIN_PADDING_EFFICIENCY: '0' }, recordingBackend(batches));
});
after(() => t.close());

const items = Array.from({ length: 12 }, (_, i) => ({ prompt: filler(i, 3 + i * 4), response: filler(100 + i, 2 + (i % 5) * 3) }));
const long = Array.from({ length: 8 }, (_, i) => ({ prompt: filler(200 + i, 300), response: filler(300 + i, 40) }));

async function scoreAlone(item: object): Promise<number> {
  const r = await post(t.app, '/score', { items: [item] });
  assert.equal(r.status, 200);
  return r.body.rewards[0];
}

test('an item scores the same alone, beside much longer items, and shuffled', async () => {
  const alone = [];
  for (const it of items) alone.push(await scoreAlone(it));
  assert.ok(new Set(alone).size > 1, 'different texts give different rewards');

  batches.length = 0;
  const mixed = await post(t.app, '/score', { items: [...long.slice(0, 4), ...items, ...long.slice(4)] });
  assert.equal(mixed.status, 200);
  assert.equal(batches.length, 1, 'all 20 items ran in one batch, padded to the longest');
  assert.ok(Math.max(...batches[0]!) > 10 * Math.min(...batches[0]!));
  const mixedOwn = mixed.body.rewards.slice(4, 4 + items.length);

  const order = items.map((_, i) => i).sort((a, b) => ((a * 7) % 12) - ((b * 7) % 12));
  const shuffled = await post(t.app, '/score', { items: order.map((i) => items[i]) });
  const unshuffled: number[] = [];
  order.forEach((i, k) => (unshuffled[i] = shuffled.body.rewards[k]));

  for (let i = 0; i < items.length; i++) {
    assert.ok(Math.abs(mixedOwn[i] - alone[i]!) <= 1e-5, `item ${i}: beside long items ${mixedOwn[i]} vs alone ${alone[i]}`);
    assert.ok(Math.abs(unshuffled[i]! - alone[i]!) <= 1e-5, `item ${i}: shuffled ${unshuffled[i]} vs alone ${alone[i]}`);
  }
});

test('concurrent requests batched together get the rewards they get alone', async () => {
  const alone: number[] = [];
  for (const it of items.slice(0, 6)) alone.push(await scoreAlone(it));
  batches.length = 0;
  // Fire all at once so the batcher mixes them into shared batches.
  const together = await Promise.all([
    ...items.slice(0, 6).map((it) => post(t.app, '/score', { items: [it] })),
    post(t.app, '/score', { items: long }),
  ]);
  for (let i = 0; i < 6; i++) assert.ok(Math.abs(together[i]!.body.rewards[0] - alone[i]!) <= 1e-5);
  assert.ok(batches.length < 7, `7 requests shared batches (${batches.length} batches)`);
});
