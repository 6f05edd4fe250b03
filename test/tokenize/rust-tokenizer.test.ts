// TOKENIZER_LIBRARY=rust: the Rust binding, driven through the same encode plans, must give
// exactly what the card's library gives. The HH texts are offensive: failures name indices only.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Formatter, type FormattedItem } from '../../src/format/format.js';
import { HH_TEMPLATE } from '../../src/model/model-folder.js';
import { encodePlans } from '../../src/tokenize/encode-plans.js';
import { rustBatchTokenize } from '../../src/tokenize/rust-tokenizer.js';
import { TokenEncoder, type TruncationMode } from '../../src/tokenize/token-encoder.js';
import { DEFAULT_MODEL, FIXTURES, post, startApp, type TestApp } from '../helpers/app.js';
import { hhItems, oddTexts } from '../helpers/hh-items.js';

const read = (dir: string, f: string) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));

async function assertSameAsCard(dir: string, items: FormattedItem[], maxLength: number, mode: TruncationMode) {
  const json = read(dir, 'tokenizer.json');
  const enc = new TokenEncoder(json, read(dir, 'tokenizer_config.json'), maxLength);
  const calls: number[] = [];
  const rust = rustBatchTokenize(json);
  const got = await encodePlans(items.map((f) => enc.plan(f, mode)), (texts) => (calls.push(texts.length), rust(texts)));
  items.forEach((item, i) => {
    assert.ok(JSON.stringify(got[i]) === JSON.stringify(enc.encode(item, mode)), `item ${i} (max_length ${maxLength}, ${mode}) differs`);
  });
  return calls;
}

test('the Rust binding through encode plans gives exactly the card library\'s encoding of every HH dialogue', async () => {
  const fmt = new Formatter(HH_TEMPLATE);
  const items = hhItems().map((it) => fmt.format(it));
  const calls = await assertSameAsCard(DEFAULT_MODEL, items, 192, 'auto');
  // Lockstep rounds: the first batch holds one text per item; later rounds only the unfinished.
  assert.equal(calls[0], items.length);
  assert.ok(calls.length >= 2 && calls.length < 10 && calls.at(-1)! < items.length, `rounds ${calls.join(',')}`);
  const pairs = hhItems().filter((it, i) => 'prompt' in it && i % 5 === 0).map((it) => fmt.format(it, 'pair'));
  await assertSameAsCard(DEFAULT_MODEL, pairs, 192, 'auto');
  await assertSameAsCard(DEFAULT_MODEL, items.filter((_, i) => i % 9 === 0), 64, 'error');
});

test('odd texts and a chat tokenizer with its own special tokens encode the same with both libraries', async () => {
  const items: FormattedItem[] = oddTexts().flatMap((text) => [
    { text, prefix: null },
    { text, prefix: text.slice(0, text.length - 40) },
  ]);
  for (const mode of ['auto', 'error'] as const) {
    await assertSameAsCard(DEFAULT_MODEL, items, 64, mode);
    await assertSameAsCard(path.join(FIXTURES, 'models', 'llama3-chat'), [...items, { text: 'hi<|eot_id|><|start_header_id|>assistant', prefix: null }], 64, mode);
  }
});

let rustApp: TestApp;
let cardApp: TestApp;
before(async () => {
  rustApp = await startApp({ TOKENIZER_LIBRARY: 'rust' });
  cardApp = await startApp({});
});
after(async () => {
  await rustApp.close();
  await cardApp.close();
});

test('over HTTP, TOKENIZER_LIBRARY=rust serves the same rewards, truncation flags and 422s', async () => {
  // {text} items, and prompt/response items whose reply surely fits (others may get 422).
  const items = hhItems().filter((it, i) => i % 37 === 0 && ('text' in it || ('response' in it && it.response.length < 300))).slice(0, 60);
  const a = await post(rustApp.app, '/score', { items });
  const b = await post(cardApp.app, '/score', { items });
  assert.equal(a.status, 200);
  // Same token ids; batch composition may differ with timing, which moves fp32 rewards by ~1e-7.
  assert.equal(a.body.rewards.length, items.length);
  a.body.rewards.forEach((r: number, i: number) => assert.ok(Math.abs(r - b.body.rewards[i]) < 1e-5, `item ${i}: ${r} vs ${b.body.rewards[i]}`));
  assert.deepEqual(a.body.usage, b.body.usage);
  assert.deepEqual(a.body.truncated, b.body.truncated);
  assert.ok(b.body.truncated.includes(true));
  const tooLong = { items: [{ prompt: 'q', response: 'word '.repeat(400) }] };
  const e1 = await post(rustApp.app, '/score', tooLong);
  const e2 = await post(cardApp.app, '/score', tooLong);
  assert.equal(e1.status, 422);
  assert.deepEqual(e1.body, e2.body);
});
