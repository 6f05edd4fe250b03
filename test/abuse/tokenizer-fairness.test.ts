// One client's expensive input must not stall the others: a huge /rank of spaceless text is
// sliced (others' items ride between its slices), stops when its client leaves (and gives its
// queue reservation back at once), and timeout_ms covers tokenizing.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { FIXTURES, post, startApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
let port: number;
before(async () => {
  // One tokenizer thread: the worst case for sharing it.
  t = await startApp({ INFER_WORKERS: '1', TOKENIZER_WORKERS: '1' });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.address() as AddressInfo).port;
});
after(() => t.close());

/** Deterministic letters without a space: no tail-window cut exists in them. */
function spaceless(n: number, seed: number): string {
  let x = seed;
  return Array.from({ length: n }, () => String.fromCharCode(97 + ((x = (x * 1103515245 + 12345) >>> 0) % 26))).join('');
}

const until = async (cond: () => boolean, ms: number) => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return cond();
};

test('a huge spaceless /rank, abandoned, neither stalls a one-item client nor keeps its reservation', async () => {
  const body = JSON.stringify({ prompt: spaceless(60_000, 1), responses: Array.from({ length: 512 }, (_, i) => `Answer number ${i}.`) });
  const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/rank', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
  req.on('error', () => {});
  req.end(body);
  assert.ok(await until(() => t.runtime.batcher.depth > 0, 5000), 'the attack was admitted');
  const victim: number[] = [];
  for (let i = 0; i < 8; i++) {
    const t0 = performance.now();
    const r = await post(t.app, '/score', { items: [{ prompt: 'How do I boil an egg?', response: `Simmer it for ${i + 6} minutes.` }] });
    victim.push(performance.now() - t0);
    assert.equal(r.status, 200);
    if (i === 3) req.destroy(); // the attacker leaves halfway
  }
  assert.ok(Math.max(...victim) < 1500, `victim latencies ${victim.map((x) => x.toFixed(0)).join(', ')} ms`);
  assert.ok(await until(() => t.runtime.batcher.depth === 0, 1000), `reservation released (depth ${t.runtime.batcher.depth})`);
});

test('timeout_ms covers tokenizing: a request that cannot be tokenized in time gets 504 near its deadline', async () => {
  const items = Array.from({ length: 100 }, (_, i) => ({ text: spaceless(60_000, i + 2) }));
  const t0 = performance.now();
  const r = await post(t.app, '/score', { items, timeout_ms: 300 });
  const ms = performance.now() - t0;
  assert.equal(r.status, 504, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'deadline_exceeded');
  assert.ok(ms < 2000, `answered after ${ms.toFixed(0)} ms`);
  assert.ok(await until(() => t.runtime.batcher.depth === 0, 1000));
});

test('a prompt shared by many responses is tokenized once (decoder model, no character window)', async () => {
  const q = await startApp({ MODEL_DIR: path.join(FIXTURES, 'models', 'qwen3-rm'), INFER_WORKERS: '1', TOKENIZER_WORKERS: '1' });
  try {
    // CJK without spaces: costly for the tokenizer, and the whole text is tokenized each time.
    let x = 3;
    const prompt = Array.from({ length: 40_000 }, () => String.fromCharCode(0x4e00 + ((x = (x * 1103515245 + 12345) >>> 0) % 2000))).join('');
    const one = async (seed: number) => {
      const t0 = performance.now();
      const r = await post(q.app, '/tokenize', { items: [{ prompt: prompt + seed, response: 'OK.' }] });
      assert.equal(r.status, 200);
      return performance.now() - t0;
    };
    const single = Math.min(await one(1), await one(2)); // a prompt the cache has not seen
    // /tokenize measures tokenizing alone (inference of 8,192-token items would dominate /rank).
    const t0 = performance.now();
    const items = Array.from({ length: 16 }, (_, i) => ({ prompt: prompt + 'x', response: `Answer ${i}.` }));
    const r = await post(q.app, '/tokenize', { items });
    const shared = performance.now() - t0;
    assert.equal(r.status, 200);
    assert.ok(shared < 5 * single + 1000, `16 items sharing the prompt took ${shared.toFixed(0)} ms; one item alone ${single.toFixed(0)} ms`);
  } finally {
    await q.close();
  }
});
