import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { filler, post, recordingBackend, startApp, type TestApp } from '../helpers/app.js';
import { until } from '../helpers/until.js';

// MAX_WAIT_MS far longer than any test: a batch that waited for it would outlast the 5 s test timeout.
const batches: number[][] = [];
let dispatched = 0;
let gate: Promise<void> = Promise.resolve();
let t: TestApp;
before(async () => {
  t = await startApp(
    { MAX_WAIT_MS: '10000', INFER_WORKERS: '2' },
    recordingBackend(batches, () => {
      dispatched++;
      return gate;
    }),
  );
});
after(() => t.close());

const item = (i: number) => ({ prompt: filler(i, 10), response: 'fine' });

test('with every worker idle a partial batch starts at once instead of waiting MAX_WAIT_MS', { timeout: 5_000 }, async () => {
  const before = dispatched;
  const r = post(t.app, '/score', { items: [item(1)] });
  // Dispatched in the call that queues it: never seen queued with nothing dispatched.
  await until(() => t.runtime.batcher.tokens > 0 || dispatched > before);
  assert.equal(dispatched, before + 1);
  assert.equal((await r).status, 200);
});

test('while a batch runs, a partial batch waits for more items; it starts when the worker frees', { timeout: 5_000 }, async () => {
  let open!: () => void;
  gate = new Promise((r) => (open = r));
  const start = dispatched;
  const first = post(t.app, '/score', { items: [item(2)] });
  await until(() => dispatched === start + 1); // idle backend: dispatched at once
  assert.equal(t.runtime.batcher.tokens, 0); // so tokens > 0 below is the second item
  const second = post(t.app, '/score', { items: [item(3)] });
  // The batcher decides when an item is queued (a dispatch calls the backend in that same call):
  // once the second item is queued, or dispatched, the decision is made.
  await until(() => t.runtime.batcher.tokens > 0 || dispatched > start + 1);
  assert.equal(dispatched, start + 1, 'the second item waits while the first batch runs');
  open();
  const [a, b] = await Promise.all([first, second]);
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  assert.equal(dispatched, start + 2);
  gate = Promise.resolve();
});
