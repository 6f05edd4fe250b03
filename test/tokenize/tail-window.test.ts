// TokenEncoder reads only the tail of an over-long text. These tests hold it to a reference that
// tokenizes every text whole, on every committed HH dialogue. The dialogues are offensive: a
// failure names the item's index, never its text.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { Formatter, type FormattedItem } from '../../src/format/format.js';
import { HH_TEMPLATE } from '../../src/model/model-folder.js';
import { lastCut, tailCutSafe } from '../../src/tokenize/tail-cut.js';
import { TokenEncoder, type TruncationMode } from '../../src/tokenize/token-encoder.js';
import { DEFAULT_MODEL, filler } from '../helpers/app.js';
import { hhItems, oddTexts } from '../helpers/hh-items.js';

const read = (dir: string, f: string) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
const tokJson = read(DEFAULT_MODEL, 'tokenizer.json');
const tokCfg = read(DEFAULT_MODEL, 'tokenizer_config.json');
const lib = new Tokenizer(tokJson, tokCfg);
const ids = (text: string): number[] => lib.encode(text, { add_special_tokens: false }).ids;
const BEFORE = [0];
const AFTER = [2];

/** The whole-text algorithm: tokenize everything, strip, count the response by common prefix. */
function reference(item: FormattedItem, maxLength: number, mode: TruncationMode) {
  const specials = BEFORE.length + AFTER.length;
  const budget = maxLength - specials;
  if (item.second !== undefined) {
    // The default pair template: <s> A </s> </s> B </s>, type ids 0 for A's part, 1 for B's.
    let a = ids(item.text);
    const b = ids(item.second);
    const total = a.length + b.length + 4;
    if (total > maxLength) {
      if (mode === 'error') return { code: 'item_too_long', length: total };
      if (b.length + 4 > maxLength) return { code: 'response_too_long', length: b.length + 4 };
      a = a.slice(total - maxLength);
    }
    const typeIds = [0, ...a.map(() => 0), 0, 1, ...b.map(() => 1), 1];
    return { ids: [0, ...a, 2, 2, ...b, 2], typeIds, truncated: total > maxLength };
  }
  let body = ids(item.text);
  if (body[0] === 0) body = body.slice(1);
  if (body.at(-1) === 2) body = body.slice(0, -1);
  if (body.length <= budget) return { ids: [...BEFORE, ...body, ...AFTER], truncated: false };
  if (mode === 'error') return { code: 'item_too_long', length: body.length + specials };
  if (item.prefix !== null && !item.cutLastTurn) {
    let prompt = ids(item.prefix);
    if (prompt[0] === 0) prompt = prompt.slice(1);
    let cp = 0;
    while (cp < Math.min(prompt.length, body.length) && prompt[cp] === body[cp]) cp++;
    if (body.length - cp > budget) return { code: 'response_too_long', length: body.length - cp + specials };
  }
  return { ids: [...BEFORE, ...body.slice(body.length - budget), ...AFTER], truncated: true };
}

/** Compares encoder and reference on every item; returns how many were truncated. */
function assertSame(enc: TokenEncoder, items: FormattedItem[], maxLength: number, mode: TruncationMode): number {
  let truncated = 0;
  items.forEach((item, i) => {
    const got = enc.encode(item, mode);
    const want = reference(item, maxLength, mode);
    assert.ok(JSON.stringify(got) === JSON.stringify(want), `item ${i} (max_length ${maxLength}, ${mode}) differs from whole-text tokenization`);
    if ('truncated' in got && got.truncated) truncated++;
  });
  return truncated;
}

test('the default tokenizer allows tail windows; tokenizers with a normalizer or another pre-tokenizer do not', () => {
  assert.equal(tailCutSafe(tokJson), true);
  assert.equal(tailCutSafe({ ...tokJson, normalizer: { type: 'NFC' } }), false);
  assert.equal(tailCutSafe({ ...tokJson, pre_tokenizer: { type: 'Metaspace' } }), false);
  assert.equal(tailCutSafe({ ...tokJson, pre_tokenizer: { ...tokJson.pre_tokenizer, add_prefix_space: true } }), false);
  assert.equal(tailCutSafe({ ...tokJson, added_tokens: [{ content: '<a b>', lstrip: false, rstrip: false }] }), false);
  assert.equal(tailCutSafe({ ...tokJson, added_tokens: [{ content: '<x>', lstrip: true, rstrip: false }] }), false);
  assert.equal(tailCutSafe({ ...tokJson, model: { ...tokJson.model, dropout: 0.1 } }), false);
});

test('cuts land on a space between two visible characters, never inside whitespace runs', () => {
  assert.equal(lastCut('ab  cd ef', 8), 6);
  assert.equal(lastCut('ab  cd ef', 5), -1);
  assert.equal(lastCut('a\n b', 3), -1);
  assert.equal(lastCut('xyz', 2), -1);
  assert.equal(lastCut('é é a b', 6), 5);
  assert.equal(lastCut('é é a b', 4), -1);
});

test('the two parts of a text cut at lastCut tokenize to exactly the tokens of the whole text', () => {
  let cuts = 0;
  hhItems().forEach((item, i) => {
    if (!('text' in item) || i % 3 !== 0) return;
    const whole = ids(item.text);
    for (const share of [0.1, 0.5, 0.9]) {
      const p = lastCut(item.text, Math.floor(item.text.length * share));
      if (p < 0) continue;
      const parts = [...ids(item.text.slice(0, p)), ...ids(item.text.slice(p))];
      assert.ok(JSON.stringify(parts) === JSON.stringify(whole), `item ${i}, cut at ${share}`);
      cuts++;
    }
  });
  assert.ok(cuts > 2000, `${cuts} cuts`);
});

test('every HH dialogue encodes exactly as whole-text tokenization does (192 and 64 tokens, both modes)', () => {
  const fmt = new Formatter(HH_TEMPLATE);
  const items = hhItems().map((it) => fmt.format(it));
  const enc192 = new TokenEncoder(tokJson, tokCfg, 192);
  const truncated = assertSame(enc192, items, 192, 'auto');
  // The windows were exercised: about a third of HH dialogues exceed 192 tokens.
  assert.ok(truncated > items.length / 5, `${truncated} of ${items.length} truncated`);
  const some = items.filter((_, i) => i % 7 === 0);
  assertSame(enc192, some, 192, 'error');
  assertSame(new TokenEncoder(tokJson, tokCfg, 64), some, 64, 'auto');
  const pairs = hhItems()
    .filter((it, i) => 'prompt' in it && i % 5 === 0)
    .map((it) => new Formatter(HH_TEMPLATE).format(it, 'pair'));
  assertSame(enc192, pairs, 192, 'auto');
  assertSame(enc192, pairs.slice(0, 100), 192, 'error');
});

test('dense, unspaced, special-token and non-ASCII texts encode as whole-text tokenization does', () => {
  const texts = oddTexts();
  const items: FormattedItem[] = texts.flatMap((text) => [
    { text, prefix: null },
    { text, prefix: text.slice(0, Math.floor(text.length / 2)) },
    { text, prefix: text.slice(0, text.length - 40) },
    { text, prefix: text.slice(0, text.length - 40), cutLastTurn: true },
  ]);
  for (const maxLength of [16, 64, 192]) {
    const enc = new TokenEncoder(tokJson, tokCfg, maxLength);
    assertSame(enc, items, maxLength, 'auto');
    assertSame(enc, items, maxLength, 'error');
  }
});
