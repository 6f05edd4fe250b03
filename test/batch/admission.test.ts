// Admission that fits batch clients: requests wait in a queue bounded by what it holds; one that
// finds it full waits ADMISSION_HOLD_MS for room in arrival order before its 429; a timeout_ms the
// queue ahead cannot meet is refused at once. Inference is held by a gate, so every outcome
// follows from the order of events, not from timing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { filler, post, recordingBackend, startApp, type TestApp } from '../helpers/app.js';
import { until } from '../helpers/until.js';

/** A gate inference waits at while closed; warm-up passes (it starts open). */
function gate() {
  let open: Promise<void> = Promise.resolve();
  let release = () => {};
  return {
    wait: () => open,
    close() {
      open = new Promise<void>((r) => (release = r));
    },
    open: () => release(),
  };
}


const body = (seed: number, items: number, extra: Record<string, unknown> = {}) => ({
  items: Array.from({ length: items }, (_, k) => ({ prompt: filler(seed * 10 + k, 30), response: filler(k, 10) })),
  ...extra,
});

/** A broken admission leaves a request at the closed gate: fail then, rather than hang the suite. */
const LIMIT = { timeout: 60_000 };
const apps: TestApp[] = [];
const gates: ReturnType<typeof gate>[] = [];
after(() => {
  for (const g of gates) g.open(); // what a failed test left at the gate must not keep the apps open
  return Promise.all(apps.map((a) => a.close()));
});
async function app(env: Record<string, string>, g: ReturnType<typeof gate>) {
  const t = await startApp({ INFER_WORKERS: '1', ...env }, recordingBackend([], g.wait));
  apps.push(t);
  gates.push(g);
  return t;
}

test('a request that finds the queue full waits for room and is served; none is refused', LIMIT, async () => {
  const g = gate();
  const t = await app({ MAX_QUEUE_ITEMS: '8', MAX_ITEMS_PER_REQUEST: '4', ADMISSION_HOLD_MS: '60000' }, g);
  g.close();
  const order: number[] = [];
  // The first requests fill the queue (and the gated worker); the rest are held, in arrival order.
  const replies = Array.from({ length: 10 }, (_, i) =>
    post(t.app, '/score', body(i, 4)).then((r) => {
      order.push(i);
      return r;
    }),
  );
  await until(() => t.runtime.batcher.held > 0 || order.length > 0);
  assert.equal(order.length, 0, 'nothing answered while inference is held');
  g.open();
  const done = await Promise.all(replies);
  assert.deepEqual(
    done.map((r) => r.status),
    Array(10).fill(200),
  );
  for (const r of done) assert.equal(r.body.rewards.length, 4);
  assert.equal(t.runtime.batcher.held, 0);
  const metrics = (await t.app.inject({ url: '/metrics' })).body;
  assert.doesNotMatch(metrics, /reward_failures_total\{reason="overloaded"/);
});

test('a held request gets 429 when no room frees within ADMISSION_HOLD_MS; the admitted ones still succeed', LIMIT, async () => {
  const g = gate();
  // Batches of a whole request (no padding rule): one runs, one is prepared ahead, two fill the queue.
  const t = await app({ MAX_QUEUE_ITEMS: '6', MAX_ITEMS_PER_REQUEST: '3', MAX_BATCH_SIZE: '3', MIN_PADDING_EFFICIENCY: '0', ADMISSION_HOLD_MS: '50' }, g);
  g.close();
  const first = [1, 2, 3, 4].map((i) => post(t.app, '/score', body(i, 3)));
  await until(() => t.runtime.batcher.depth === 6 && t.runtime.batcher.held === 0 && t.runtime.batcher.tokens > 0);
  const refused = await post(t.app, '/score', body(4, 1));
  assert.equal(refused.status, 429);
  assert.equal(refused.body.error.code, 'overloaded');
  assert.match(refused.body.error.message, /Queue is full for 50 ms \(ADMISSION_HOLD_MS\): 6 of 6 items/);
  assert.equal(refused.headers['retry-after'], '1');
  assert.equal(t.runtime.batcher.held, 0, 'the refused request no longer waits');
  g.open();
  for (const r of await Promise.all(first)) assert.equal(r.status, 200);
});

test('behind other waiting requests the hold grows, so that clients retrying at once are refused at about ADMISSION_REFUSALS_PER_S', LIMIT, async () => {
  const g = gate();
  const t = await app({ MAX_QUEUE_ITEMS: '6', MAX_ITEMS_PER_REQUEST: '3', MAX_BATCH_SIZE: '3', MIN_PADDING_EFFICIENCY: '0', ADMISSION_HOLD_MS: '50', ADMISSION_REFUSALS_PER_S: '10' }, g);
  g.close();
  const first = [1, 2, 3, 4].map((i) => post(t.app, '/score', body(i, 3)));
  await until(() => t.runtime.batcher.depth === 6 && t.runtime.batcher.held === 0 && t.runtime.batcher.tokens > 0);
  // Five requests find the queue full: the k-th to wait is held k / 10 s (more than 50 ms), so
  // five refusals take half a second instead of 50 ms.
  const t0 = performance.now();
  const refused = await Promise.all([1, 2, 3, 4, 5].map((k) => post(t.app, '/score', body(10 + k, 1)).then((r) => ({ r, ms: performance.now() - t0 }))));
  for (const { r } of refused) assert.equal(r.status, 429);
  const holds = refused.map(({ r }) => Number(/Queue is full for (\d+) ms \(ADMISSION_HOLD_MS, longer behind the requests already waiting: ADMISSION_REFUSALS_PER_S\)/.exec(r.body.error.message)?.[1]));
  assert.deepEqual(
    holds.sort((a, b) => a - b),
    [100, 200, 300, 400, 500],
  );
  assert.ok(Math.max(...refused.map((x) => x.ms)) >= 490, 'the last refusal came after its 500 ms hold');
  assert.equal(t.runtime.batcher.held, 0);
  g.open();
  for (const r of await Promise.all(first)) assert.equal(r.status, 200);
});

test('MAX_QUEUE_TOKENS bounds what the queue holds: past it, a newcomer waits for room', LIMIT, async () => {
  const g = gate();
  const t = await app({ MAX_QUEUE_TOKENS: '100', ADMISSION_HOLD_MS: '0' }, g);
  g.close();
  // The first request runs (held at the gate); the second is queued behind it, over 100 tokens.
  const running = post(t.app, '/score', body(1, 1));
  await until(() => t.runtime.batcher.depth === 0 && t.runtime.batcher.tokens === 0);
  const queued = post(t.app, '/score', body(2, 4));
  await until(() => t.runtime.batcher.tokens > 100);
  // Refused, or (were the bound ignored) admitted to wait behind the gate: whichever comes first.
  let refused: Awaited<ReturnType<typeof post>> | undefined;
  const third = post(t.app, '/score', body(3, 1)).then((r) => (refused = r));
  await until(() => refused !== undefined || t.runtime.batcher.depth > 4);
  assert.ok(refused, 'admitted past MAX_QUEUE_TOKENS');
  assert.equal(refused.status, 429);
  assert.match(refused.body.error.message, new RegExp(`${t.runtime.batcher.tokens} of 100 tokens`));
  g.open();
  assert.equal((await running).status, 200);
  assert.equal((await queued).status, 200);
  await third;
  // With room again, the same request is admitted.
  assert.equal((await post(t.app, '/score', body(3, 1))).status, 200);
});

test('a timeout_ms the queue ahead cannot meet is refused at once; a longer one is admitted', LIMIT, async () => {
  const g = gate();
  // A slow backend (50 ms per batch of at most 4) so the drain rate is known, then held.
  const slow = { wait: async () => ((await new Promise((r) => setTimeout(r, 50))), g.wait()), close: g.close, open: g.open };
  const t = await app({ MAX_BATCH_SIZE: '4', ADMISSION_HOLD_MS: '60000' }, slow as ReturnType<typeof gate>);
  await Promise.all(Array.from({ length: 60 }, (_, i) => post(t.app, '/score', body(i, 2))));
  g.close();
  const backlog = Array.from({ length: 25 }, (_, i) => post(t.app, '/score', body(100 + i, 8)));
  await until(() => t.runtime.batcher.depth >= 190 && t.runtime.batcher.tokens > 0);
  let answered = 0;
  const late = post(t.app, '/score', body(200, 1, { timeout_ms: 100 })).then((r) => ((answered = 1), r));
  const patient = post(t.app, '/score', body(201, 1, { timeout_ms: 600_000 }));
  const r = await late;
  assert.equal(answered, 1);
  assert.equal(r.status, 429, 'refused while inference is still held');
  assert.match(r.body.error.message, /more than the \d+ ms left of timeout_ms/);
  assert.ok(Number(r.headers['retry-after']) >= 1);
  g.open();
  assert.equal((await patient).status, 200);
  for (const b of await Promise.all(backlog)) assert.equal(b.status, 200);
});
