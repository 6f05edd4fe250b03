import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { ChatTemplate } from '../../src/format/chat-template.js';
import { Formatter } from '../../src/format/format.js';
import { HH_TEMPLATE } from '../../src/model/model-folder.js';
import { TokenEncoder } from '../../src/tokenize/token-encoder.js';
import { DEFAULT_MODEL, filler, FIXTURES } from '../helpers/app.js';

const read = (dir: string, f: string) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
const LLAMA = path.join(FIXTURES, 'models', 'llama3-chat');
const llamaJson = read(LLAMA, 'tokenizer.json');
const llamaCfg = read(LLAMA, 'tokenizer_config.json');
const defJson = read(DEFAULT_MODEL, 'tokenizer.json');
const defCfg = read(DEFAULT_MODEL, 'tokenizer_config.json');
const chat = new Formatter(HH_TEMPLATE, new ChatTemplate(llamaCfg.chat_template, { bos_token: llamaCfg.bos_token }));
const BOS = 4092;
const EOT = 4095;

test('special-token strings inside text map to their special-token ids', () => {
  const enc = new TokenEncoder(llamaJson, llamaCfg, 512);
  const r = enc.encode({ text: 'hi<|eot_id|><|start_header_id|>assistant', prefix: null }, 'auto');
  assert.ok('ids' in r);
  assert.ok(r.ids.includes(EOT) && r.ids.includes(4093));
  const d = new TokenEncoder(defJson, defCfg, 512).encode({ text: 'a</s>b', prefix: null }, 'auto');
  assert.ok('ids' in d);
  assert.deepEqual(d.ids.slice(1, -1), [new Tokenizer(defJson, defCfg).token_to_id('a'), 2, new Tokenizer(defJson, defCfg).token_to_id('b')]);
});

test('a chat-rendered conversation that carries the BOS token gets no second one', () => {
  const enc = new TokenEncoder(llamaJson, llamaCfg, 512);
  assert.deepEqual(enc.before, [BOS]);
  const f = chat.format({ messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }] });
  const r = enc.encode(f, 'auto');
  assert.ok('ids' in r);
  assert.equal(r.ids.filter((id) => id === BOS).length, 1);
  assert.equal(r.ids[0], BOS);
  assert.equal(r.ids.at(-1), EOT);
  // Plain text without it still gets the post-processor's BOS.
  const plain = enc.encode({ text: 'Hi', prefix: null }, 'auto');
  assert.ok('ids' in plain && plain.ids[0] === BOS);
});

test('truncation keeps the whole last assistant turn of a conversation and drops the oldest turns', () => {
  const enc = new TokenEncoder(llamaJson, llamaCfg, 64);
  const last = filler(11, 20);
  const f = chat.format({
    messages: [
      { role: 'user', content: filler(12, 300) },
      { role: 'assistant', content: filler(13, 300) },
      { role: 'user', content: 'and now?' },
      { role: 'assistant', content: last },
    ],
  });
  const r = enc.encode(f, 'auto');
  assert.ok('ids' in r && r.truncated && r.ids.length === 64 && r.ids[0] === BOS);
  const kept = new Tokenizer(llamaJson, llamaCfg).decode(r.ids, { skip_special_tokens: false });
  assert.ok(kept.endsWith(`<|start_header_id|>assistant<|end_header_id|>\n\n${last}<|eot_id|>`));
  // A last turn that cannot fit is refused rather than cut.
  const huge = enc.encode(chat.format({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: filler(14, 200) }] }), 'auto');
  assert.ok('code' in huge && huge.code === 'response_too_long');
  // Pre-formatted HH text protects its last "Assistant:" turn when it fits; a last turn that
  // cannot fit is cut from the left like any over-long text (clients cannot shorten it).
  const hh = new TokenEncoder(defJson, defCfg, 64);
  const hhFmt = new Formatter(HH_TEMPLATE);
  const fits = hh.encode(hhFmt.format({ text: `\n\nHuman: ${filler(15, 100)}\n\nAssistant: ${filler(16, 10)}` }), 'auto');
  assert.ok('ids' in fits && fits.truncated && fits.ids.length === 64);
  const hhLong = `\n\nHuman: ${filler(15, 100)}\n\nAssistant: ${filler(16, 100)}`;
  const t = hh.encode(hhFmt.format({ text: hhLong }), 'auto');
  const plain = new Tokenizer(defJson, defCfg).encode(hhLong, { add_special_tokens: false }).ids;
  assert.ok('ids' in t && t.truncated && t.ids.length === 64);
  assert.deepEqual(t.ids.slice(hh.before.length, 64 - hh.after.length), plain.slice(plain.length - hh.budget));
});

test('a text pair is tokenizer(prompt, response): the pair template with token type ids; the prompt is cut first', () => {
  const enc = new TokenEncoder(defJson, defCfg, 64);
  assert.equal(enc.pairs, true);
  const pair = enc.encode({ text: 'hello there', prefix: null, second: 'general kenobi' }, 'auto');
  const ref = new Tokenizer(defJson, defCfg).encode('hello there', { text_pair: 'general kenobi', return_token_type_ids: true });
  assert.ok('ids' in pair);
  assert.deepEqual(pair.ids, ref.ids);
  assert.deepEqual(pair.typeIds, ref.token_type_ids);
  assert.ok(pair.typeIds!.includes(1));
  const response = filler(17, 10);
  const long = enc.encode({ text: filler(18, 200), prefix: null, second: response }, 'auto');
  assert.ok('ids' in long && long.truncated && long.ids.length === 64);
  const tail = new Tokenizer(defJson, defCfg).encode(response, { add_special_tokens: false }).ids;
  assert.deepEqual(long.ids.slice(64 - 1 - tail.length, 63), tail);
  assert.equal(long.typeIds!.filter((t) => t === 1).length, tail.length + 2);
  const refused = enc.encode({ text: filler(18, 200), prefix: null, second: response }, 'error');
  assert.ok('code' in refused && refused.code === 'item_too_long');
});
