import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { filler, post, startApp, type TestApp } from './helpers/app.js';

let t: TestApp;
before(async () => {
  t = await startApp();
});
after(() => t.close());

/** reward_thread_busy_seconds_total by pool, from a real scrape. */
async function busy(): Promise<Record<string, number>> {
  const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
  const out: Record<string, number> = {};
  for (const [, pool, v] of text.matchAll(/^reward_thread_busy_seconds_total\{pool="(\w+)"\} (\S+)$/gm)) out[pool!] = Number(v);
  return out;
}

test('reward_thread_busy_seconds_total counts the busy time of the event loop, the tokenizer and the ORT workers', async () => {
  const first = await busy();
  assert.deepEqual(Object.keys(first).sort(), ['infer', 'main', 'tokenize']);
  const items = Array.from({ length: 64 }, (_, i) => ({ prompt: filler(i, 150), response: filler(i + 100, 40) }));
  for (let i = 0; i < 5; i++) assert.equal((await post(t.app, '/score', { items })).status, 200);
  const second = await busy();
  // 320 items of ~190 tokens: tens of milliseconds of tokenizing and inference at the least.
  assert.ok(second.tokenize! - first.tokenize! > 0.01, `tokenize ${first.tokenize} → ${second.tokenize}`);
  assert.ok(second.infer! - first.infer! > 0.01, `infer ${first.infer} → ${second.infer}`);
  assert.ok(second.main! > first.main!);
});
