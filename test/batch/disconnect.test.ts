import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import type { Backend } from '../../src/infer/backend.js';
import { OrtBackend } from '../../src/infer/ort-backend.js';
import { filler, startApp, type TestApp } from '../helpers/app.js';

/** The real ORT backend, counting the item lengths it runs (to see what reached inference). */
let seen: number[] = [];
const countingBackend = async (opts: Parameters<typeof OrtBackend.create>[0]): Promise<Backend> => {
  const real = await OrtBackend.create(opts);
  return {
    info: real.info,
    concurrency: real.concurrency,
    run(batch) {
      seen.push(...batch.lengths);
      return real.run(batch);
    },
    close: () => real.close(),
  };
};

let t: TestApp;
let port: number;
before(async () => {
  t = await startApp({}, countingBackend);
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

async function tokenizedRequests(): Promise<number> {
  const text = await t.runtime.metrics.registry.getSingleMetricAsString('reward_tokenization_duration_seconds');
  return Number(/_count (\d+)/.exec(text)![1]);
}

test("a disconnected client's queued items are dropped before inference", async () => {
  seen = [];
  // A keeps the backend busy: 256 items at max_length, run in full-budget batches.
  const busy = send({ items: Array.from({ length: 256 }, (_, i) => ({ prompt: filler(i, 800), response: 'ok' })) });
  while ((await tokenizedRequests()) < 2) await new Promise((r) => setTimeout(r, 5)); // warm-up + A
  // B: seven short items of a length A does not have; its client hangs up once they are queued.
  const quitter = send({ items: Array.from({ length: 7 }, (_, i) => ({ prompt: 'short ' + i, response: 'reply' })) });
  quitter.done.catch(() => {});
  while ((await tokenizedRequests()) < 3) await new Promise((r) => setTimeout(r, 2));
  assert.ok(t.runtime.batcher.depth >= 7, 'B is queued behind A');
  quitter.req.destroy();
  assert.equal(await busy.done, 200);
  const dropped = await t.runtime.metrics.registry.getSingleMetricAsString('reward_dropped_items_total');
  assert.match(dropped, /reward_dropped_items_total\{reason="client_closed"\} 7/);
  assert.equal(seen.length, 256, 'only A reached the backend');
  assert.ok(seen.every((len) => len === 512));
  assert.equal(t.runtime.batcher.depth, 0);
});
