// Bodies built to cost the main thread seconds: refused before JSON.parse; numeric options
// bounded so no reply carries a non-finite number.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { deepLabels, hugeWeight, manyWeights } from '../../bench/lib/attack-bodies.js';
import { hasNonFinite } from '../../src/http/plugins/finite-replies.js';
import { post, startApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
let port: number;
before(async () => {
  // The event-loop guard off: a loop slowed by scanning 16 MiB bodies must not turn a reply into a 503.
  t = await startApp({ MAX_EVENT_LOOP_DELAY_MS: '0' });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.address() as AddressInfo).port;
});
after(() => t.close());

function send(path: string, body: string): Promise<{ status: number; json: { error?: { code: string; message: string } } }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let d = '';
        res.on('data', (c) => (d += c));
        res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(d) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Sends `body` and counts the JSON.parse calls given a string as long as it: the app runs in this
 * process, so a body refused before parsing is never handed to JSON.parse.
 */
async function parsesOf(path: string, body: string) {
  const parse = JSON.parse;
  let parses = 0;
  JSON.parse = ((text: unknown, reviver?: Parameters<typeof parse>[1]) => {
    if (typeof text === 'string' && text.length >= body.length) parses++;
    return parse(text as string, reviver);
  }) as typeof JSON.parse;
  try {
    return { reply: await send(path, body), parses };
  } finally {
    JSON.parse = parse;
  }
}

const LIMIT = 16 * 1024 * 1024 - 64;

// Parsing these held the event loop for seconds (2.6–3.7 s for the deep array); what the scan
// costs other clients now is measured by npm run soak -- --attack, not asserted here.
test('an array nested 8 M deep in /get_reward labels is refused 413 before parsing', async () => {
  const { reply, parses } = await parsesOf('/get_reward', deepLabels(LIMIT));
  assert.equal(reply.status, 413);
  assert.equal(reply.json.error?.code, 'json_too_complex');
  assert.match(reply.json.error!.message, /MAX_JSON_DEPTH/);
  assert.equal(parses, 0, 'the body reached JSON.parse');
});

test('weights with 1.38 M keys are refused 413 before parsing', async () => {
  const { reply, parses } = await parsesOf('/score', manyWeights(LIMIT));
  assert.equal(reply.status, 413);
  assert.equal(reply.json.error?.code, 'json_too_complex');
  assert.match(reply.json.error!.message, /MAX_JSON_KEYS/);
  assert.equal(parses, 0, 'the body reached JSON.parse');
});

test('too many values, too deep and too many keys: each limit is its own setting and named in the message', async () => {
  const many = JSON.stringify({ query: ['a'], labels: Array(t.config.maxJsonValues + 1).fill(0) });
  const r = await send('/get_reward', many);
  assert.equal(r.status, 413);
  assert.match(r.json.error!.message, /MAX_JSON_VALUES/);
  // Within the limits: nesting and values a real request has pass the scan.
  const ok = await send('/get_reward', JSON.stringify({ query: ['a'], labels: [[[{ a: ['b', { c: 1 }] }]], 'x'] }));
  assert.equal(ok.status, 200);
  // Brackets and colons inside strings are text, not structure.
  const text = await send('/score', JSON.stringify({ items: [{ text: '[[[[{{{{:::,,,'.repeat(1000) + '\\"' }] }));
  assert.equal(text.status, 200);
});

test('prototype-poisoning keys are still refused by the JSON parser', async () => {
  const r = await send('/score', '{"items":[{"text":"a"}],"__proto__":{"polluted":true}}');
  assert.equal(r.status, 400);
  assert.equal(r.json.error?.code, 'invalid_json');
  const c = await send('/score', '{"items":[{"text":"a"}],"constructor":{"prototype":{"polluted":true}}}');
  assert.equal(c.status, 400);
});

test('numeric options are finite and bounded: a huge weight is a 422, never a 200 with null rewards', async () => {
  const head = t.runtime.headNames[0]!;
  const huge = await send('/score', hugeWeight(head));
  assert.equal(huge.status, 422);
  assert.match(huge.json.error!.message, /weights/);
  const atBound = await post(t.app, '/score', { items: [{ text: 'a' }], weights: { [head]: 1e6 } });
  assert.equal(atBound.status, 200);
  assert.ok(atBound.body.rewards.every((r: unknown) => typeof r === 'number' && Number.isFinite(r)));
  const keys = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`h${i}`, 1]));
  assert.equal((await post(t.app, '/score', { items: [{ text: 'a' }], weights: keys })).status, 422);
  for (const extra of [{ k: 1e308 }, { k: -1 }, { timeout_ms: 1e300 }, { timeout_ms: 0.5 }]) {
    const r = await post(t.app, '/score', { items: [{ text: 'a' }], ...extra });
    assert.equal(r.status, 422, JSON.stringify(extra));
  }
  const vllm = await post(t.app, '/classify', { input: 'a', truncate_prompt_tokens: 1e300 });
  assert.equal(vllm.status, 400);
  const ids = await post(t.app, '/classify', { input: [1e300] });
  assert.equal(ids.status, 400);
});

test('a reply holding NaN or Infinity is never sent as a 200', async () => {
  assert.equal(hasNonFinite({ rewards: [1, 2], heads: { a: [0.5] } }), false);
  assert.equal(hasNonFinite({ rewards: [1, Infinity] }), true);
  assert.equal(hasNonFinite({ nested: [{ x: NaN }] }), true);
  // The guard is a hook of the real app: a route answering Infinity gets 500 inference_failed.
  const app = (await import('../../src/app.js')).buildApp;
  const { Lifecycle } = await import('../../src/core/lifecycle.js');
  const { createMetrics } = await import('../../src/metrics.js');
  const a = await app({ config: t.config, lifecycle: new Lifecycle(createMetrics()) });
  a.get('/infinite', async () => ({ rewards: [1, Infinity] }));
  const r = await a.inject({ url: '/infinite' });
  assert.equal(r.statusCode, 500);
  assert.equal(r.json().error.code, 'inference_failed');
  await a.close();
});
