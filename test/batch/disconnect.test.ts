import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { filler, recordingBackend, startApp, type TestApp } from '../helpers/app.js';
import { until } from '../helpers/until.js';

const batches: number[][] = [];
let open: () => void = () => {};
let gate: Promise<void> = Promise.resolve();

let t: TestApp;
let port: number;
before(async () => {
  // One worker, so A's gated batch really occupies the whole backend.
  // No padding floor: A's four items (lengths a few tokens apart) must leave in one batch.
  t = await startApp({ INFER_WORKERS: '1', MIN_PADDING_EFFICIENCY: '0' }, recordingBackend(batches, () => gate));
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.address() as { port: number }).port;
});
after(() => t.close());

function send(body: object): { done: Promise<number>; req: http.ClientRequest } {
  const data = JSON.stringify(body);
  const req = http.request({ host: '127.0.0.1', port, path: '/score', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } });
  const done = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
  });
  req.end(data);
  return { done, req };
}

async function metricValue(name: string, re: RegExp): Promise<number> {
  const text = await t.runtime.metrics.registry.getSingleMetricAsString(name);
  return Number(re.exec(text)?.[1] ?? 0);
}

test("a disconnected client's queued items are dropped before inference", async () => {
  batches.length = 0;
  gate = new Promise((r) => (open = r));
  const tokenized = () => metricValue('reward_tokenization_duration_seconds', /_count\{[^}]*\} (\d+)/);
  const start = await tokenized();
  // A occupies the backend: its batch waits at the gate while B arrives.
  const busy = send({ items: Array.from({ length: 4 }, (_, i) => ({ prompt: filler(i, 30), response: 'ok' })) });
  await until(async () => (await tokenized()) >= start + 1);
  await until(async () => t.runtime.batcher.depth === 0); // A's batch has left the queue (after MAX_WAIT_MS)
  const quitter = send({ items: Array.from({ length: 7 }, (_, i) => ({ prompt: 'short ' + i, response: 'reply' })) });
  quitter.done.catch(() => {});
  await until(async () => (await tokenized()) >= start + 2);
  assert.equal(t.runtime.batcher.depth, 7, 'B is queued behind A');
  quitter.req.destroy();
  await until(async () => (await metricValue('reward_dropped_items_total', /client_closed",model="[^"]+"\} (\d+)/)) === 7);
  open();
  assert.equal(await busy.done, 200);
  assert.deepEqual(batches.map((b) => b.length), [4], 'only A reached the backend');
  assert.equal(t.runtime.batcher.depth, 0);
  const failures = await metricValue('reward_failures_total', /client_closed",model="[^"]+"\} (\d+)/);
  assert.equal(failures, 1);
});
