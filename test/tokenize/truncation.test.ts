import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { Formatter } from '../../src/format/format.js';
import { HH_TEMPLATE } from '../../src/model/model-folder.js';
import { TokenEncoder } from '../../src/tokenize/token-encoder.js';
import { DEFAULT_MODEL, filler, post, startApp, type TestApp } from '../helpers/app.js';

const tokJson = JSON.parse(fs.readFileSync(path.join(DEFAULT_MODEL, 'tokenizer.json'), 'utf8'));
const tokCfg = JSON.parse(fs.readFileSync(path.join(DEFAULT_MODEL, 'tokenizer_config.json'), 'utf8'));
const fmt = new Formatter(HH_TEMPLATE);

test('truncation drops the oldest prompt tokens and keeps the response and special tokens', () => {
  const enc = new TokenEncoder(tokJson, tokCfg, 64);
  const response = filler(1, 20);
  const short = enc.encode(fmt.format({ prompt: 'hi', response }), 'auto');
  const long = enc.encode(fmt.format({ prompt: filler(2, 400), response }), 'auto');
  assert.ok('ids' in short && 'ids' in long);
  assert.equal(short.truncated, false);
  assert.equal(long.truncated, true);
  assert.equal(long.ids.length, 64);
  assert.deepEqual(long.ids.slice(0, enc.before.length), enc.before);
  assert.deepEqual(long.ids.slice(64 - enc.after.length), enc.after);
  // Decoded independently, the kept tokens are the end of the full text: the whole response
  // and the template around it, with the start of the prompt gone.
  const full = fmt.format({ prompt: filler(2, 400), response }).text;
  const kept = new Tokenizer(tokJson, tokCfg).decode(long.ids, { skip_special_tokens: true });
  assert.ok(full.endsWith(kept), 'kept tokens are a suffix of the text');
  assert.ok(kept.endsWith(`\n\nAssistant: ${response}`));
  assert.ok(kept.length < full.length / 2);
});

test('error mode refuses an over-long item; a response that cannot fit is refused in any mode', () => {
  const enc = new TokenEncoder(tokJson, tokCfg, 64);
  const tooLong = enc.encode(fmt.format({ prompt: filler(3, 200), response: 'ok' }), 'error');
  assert.ok('code' in tooLong && tooLong.code === 'item_too_long' && tooLong.length > 64);
  const hugeResponse = enc.encode(fmt.format({ prompt: 'hi', response: filler(4, 200) }), 'auto');
  assert.ok('code' in hugeResponse && hugeResponse.code === 'response_too_long');
  const text = enc.encode({ text: filler(5, 200), prefix: null }, 'auto');
  assert.ok('ids' in text && text.truncated && text.ids.length === 64);
});

let t: TestApp;
before(async () => {
  t = await startApp({}, undefined);
});
after(() => t.close());

test('over HTTP: truncated items are marked; "error" mode gives 422 naming the item and its length', async () => {
  const items = [{ prompt: 'short', response: 'fine' }, { prompt: filler(6, 2000), response: 'the end' }];
  const ok = await post(t.app, '/score', { items });
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body.truncated, [false, true]);
  const first = await post(t.app, '/score', { items: [items[0]] });
  const maxLength = t.runtime.folder.reward.maxLength;
  assert.equal(ok.body.usage.tokens, maxLength + first.body.usage.tokens);

  const err = await post(t.app, '/score', { items, truncation: 'error' });
  assert.equal(err.status, 422);
  assert.equal(err.body.error.code, 'item_too_long');
  // A text this long is cut to the characters that can reach the model before tokenizing
  // (char-window.ts), so its length is reported as a lower bound, still above max_length.
  const m = /^Item 1 has more than (\d+) tokens; max_length is (\d+)$/.exec(err.body.error.message);
  assert.ok(m, err.body.error.message);
  assert.equal(Number(m[2]), maxLength);
  assert.ok(Number(m[1]) > maxLength);
  const short = await post(t.app, '/score', { items: [{ prompt: filler(6, 150), response: 'the end' }], truncation: 'error' });
  assert.match(short.body.error.message, new RegExp(`^Item 0 has \\d+ tokens; max_length is ${maxLength}$`), 'within the window: the exact count');

  const resp = await post(t.app, '/score', { items: [{ prompt: 'q', response: filler(7, 2000) }] });
  assert.equal(resp.status, 422);
  assert.equal(resp.body.error.code, 'response_too_long');
  // A refused request holds no queue capacity afterwards.
  assert.equal(t.runtime.batcher.depth, 0);
});

test('given ids and text without special tokens (vLLM input): read as they are, the oldest dropped past max_length', () => {
  const enc = new TokenEncoder(tokJson, tokCfg, 64);
  const plainIds = new Tokenizer(tokJson, tokCfg).encode(filler(5, 200), { add_special_tokens: false }).ids;
  assert.ok(plainIds.length > 64);
  const text = enc.encode(fmt.format({ text: filler(5, 200), specialTokens: false }), 'auto');
  assert.ok('ids' in text);
  assert.deepEqual(text.ids, plainIds.slice(plainIds.length - 64), 'no special tokens, the last 64 kept');
  assert.equal(text.truncated, true);
  const ids = enc.encode(fmt.format({ ids: plainIds }), 'auto');
  assert.deepEqual(ids, text);
  const short = enc.encode(fmt.format({ ids: plainIds.slice(0, 10) }), 'auto');
  assert.deepEqual(short, { ids: plainIds.slice(0, 10), truncated: false });
  const refused = enc.encode(fmt.format({ ids: plainIds }), 'error');
  assert.deepEqual(refused, { code: 'item_too_long', length: plainIds.length });
  const refusedText = enc.encode(fmt.format({ text: filler(5, 200), specialTokens: false }), 'error');
  assert.deepEqual(refusedText, { code: 'item_too_long', length: plainIds.length });
  const unknown = enc.encode(fmt.format({ ids: [1, 10 ** 7] }), 'auto');
  assert.ok('code' in unknown && unknown.code === 'invalid_request');
});
