// One client's expensive input must not stall the others: a huge /rank of spaceless text is
// sliced (others' items ride between its slices), stops when its client leaves (and gives its
// queue reservation back at once), and timeout_ms covers tokenizing. Checked by the order of
// events and by counts, not by elapsed time (a figure for a bench, not a bound for a test).
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { FIXTURES, filler, post, startApp, type TestApp } from '../helpers/app.js';
import { until } from '../helpers/until.js';

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

/** Waits for a condition; a wait that never ends is cut by the test's timeout. */
/** A counter's samples in `app`'s /metrics, summed over those whose labels match `labels`. */
const counter = async (app: TestApp, name: string, labels = /.*/) => {
  const text = (await app.app.inject({ url: '/metrics' })).body;
  let sum = 0;
  for (const [, l, v] of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))) if (labels.test(l ?? '')) sum += Number(v);
  return sum;
};
/** Requests that finished tokenizing: the tokenization histogram is observed then, never for an aborted one. */
const tokenized = () => counter(t, 'reward_tokenization_duration_seconds_count');

test('a huge spaceless /rank, abandoned, neither stalls a one-item client nor keeps its reservation', { timeout: 60_000 }, async () => {
  const body = JSON.stringify({ prompt: spaceless(60_000, 1), responses: Array.from({ length: 512 }, (_, i) => `Answer number ${i}.`) });
  const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/rank', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
  req.on('error', () => {});
  req.end(body);
  await until(() => t.runtime.batcher.depth > 0); // the attack was admitted
  const before = await tokenized();
  const left = await counter(t, 'reward_failures_total', /reason="client_closed"/);
  for (let i = 0; i < 8; i++) {
    const r = await post(t.app, '/score', { items: [{ prompt: 'How do I boil an egg?', response: `Simmer it for ${i + 6} minutes.` }] });
    assert.equal(r.status, 200);
    // The victim rode between the attack's 512 slices: answered while the attack was still being
    // tokenized (unsliced, the attack would finish tokenizing first), and never after it.
    assert.equal(await tokenized(), before + i + 1, `victim ${i}: only the victims finished tokenizing`);
    if (i === 3) req.destroy(); // the attacker leaves halfway
  }
  // Once the server has seen the attacker leave (its 499), its reservation is back: nothing is queued.
  await until(async () => (await counter(t, 'reward_failures_total', /reason="client_closed"/)) > left);
  assert.equal(t.runtime.batcher.depth, 0, 'reservation released');
});

test('timeout_ms covers tokenizing: a request that cannot be tokenized in time gets 504, and its tokenizing stops', async () => {
  // 250 distinct texts (rotations of one) under MAX_BODY_BYTES: several times the deadline's worth
  // of tokenizing even on a loaded machine, so the deadline falls inside it.
  const base = spaceless(60_000, 2);
  const items = Array.from({ length: 250 }, (_, i) => ({ text: base.slice(i * 7) + base.slice(0, i * 7) }));
  const before = await tokenized();
  const r = await post(t.app, '/score', { items, timeout_ms: 300 });
  assert.equal(r.status, 504, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'deadline_exceeded');
  // Cut at the deadline mid-tokenizing (not once tokenized, at the queue), its reservation with it.
  assert.equal(await tokenized(), before, 'the request never finished tokenizing');
  assert.equal(t.runtime.batcher.depth, 0);
});

for (const library of ['huggingface', 'rust'] as const) {
  test(`a prompt shared by many responses is tokenized once (decoder model, ${library} library)`, async () => {
    const q = await startApp({ MODEL_DIR: path.join(FIXTURES, 'models', 'qwen3-rm'), INFER_WORKERS: '1', TOKENIZER_WORKERS: '1', TOKENIZER_LIBRARY: library });
    try {
      const lookups = async () => ({
        hit: await counter(q, 'reward_token_cache_lookups_total', /result="hit"/),
        miss: await counter(q, 'reward_token_cache_lookups_total', /result="miss"/),
      });
      // Prompts long enough to be cached (256 characters or more); short responses are not.
      const prompt = (seed: number) => filler(seed, 100);
      const N = 16;
      const start = await lookups();
      const r = await post(q.app, '/rank', { prompt: prompt(1), responses: Array.from({ length: N }, (_, i) => `Answer ${i}.`) });
      assert.equal(r.status, 200);
      const shared = await lookups();
      // The chat template renders the prompt into each of the N texts; one miss is one tokenization.
      assert.equal(shared.miss - start.miss, 1, `the shared prompt was tokenized ${shared.miss - start.miss} times`);
      // The card's library looks it up per item; the Rust path asks once per distinct text in a message.
      if (library === 'huggingface') assert.equal(shared.hit - start.hit, N - 1);
      // Distinct prompts: each is tokenized, none is found (the counter counts tokenizations).
      const s = await post(q.app, '/score', { items: Array.from({ length: N }, (_, i) => ({ prompt: prompt(i + 2), response: 'OK.' })) });
      assert.equal(s.status, 200);
      const distinct = await lookups();
      assert.deepEqual({ hit: distinct.hit - shared.hit, miss: distinct.miss - shared.miss }, { hit: 0, miss: N });
    } finally {
      await q.close();
    }
  });
}
