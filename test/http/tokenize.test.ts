import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { DEFAULT_MODEL, DEFAULT_NAME, FIXTURES, filler, post, startApp, type TestApp } from '../helpers/app.js';

const LLAMA = path.join(FIXTURES, 'models', 'llama3-chat');
let t: TestApp;
before(async () => {
  t = await startApp({ MODELS: `${DEFAULT_MODEL},${LLAMA}`, ENSEMBLES: `duo=${DEFAULT_NAME}+llama3-chat-fixture`, INFER_WORKERS: '1' });
});
after(() => t.close());

test('/tokenize returns the rendered text, ids, token strings and truncation, as /score would feed the model', async () => {
  const item = { prompt: 'How do I boil an egg?', response: 'Simmer it for nine minutes.' };
  const r = await post(t.app, '/tokenize', { items: [item] });
  assert.equal(r.status, 200);
  assert.equal(r.body.model, DEFAULT_NAME);
  const [it] = r.body.items;
  assert.equal(it.text, '\n\nHuman: How do I boil an egg?\n\nAssistant: Simmer it for nine minutes.');
  assert.equal(it.ids[0], 0, '<s> first');
  assert.equal(it.ids.at(-1), 2, '</s> last');
  assert.equal(it.tokens[0], '<s>');
  assert.equal(it.tokens.at(-1), '</s>');
  assert.equal(it.tokens.length, it.ids.length);
  assert.equal(it.truncated, false);
  assert.equal(r.body.usage.tokens, it.ids.length);
  const scored = await post(t.app, '/score', { items: [item] });
  assert.equal(scored.body.usage.tokens, it.ids.length, 'the same tokens /score counts');

  const long = await post(t.app, '/tokenize', { items: [{ prompt: filler(1, 400), response: 'Yes.' }] });
  assert.equal(long.body.items[0].truncated, true);
  assert.equal(long.body.items[0].ids.length, 192);
  const refused = await post(t.app, '/tokenize', { items: [{ prompt: filler(1, 400), response: 'Yes.' }], truncation: 'error' });
  assert.equal(refused.status, 422);
  assert.equal(refused.body.error.code, 'item_too_long');
});

test('/tokenize renders conversations with the chat template, special tokens visible', async () => {
  const r = await post(t.app, '/tokenize', {
    model: 'llama3-chat-fixture',
    items: [{ messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }] }],
  });
  assert.equal(r.status, 200);
  const [it] = r.body.items;
  assert.equal(it.text, '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>');
  assert.equal(it.tokens.filter((s: string) => s === '<|begin_of_text|>').length, 1, 'one BOS');
  assert.ok(it.tokens.includes('<|eot_id|>'));
});

test('/tokenize refuses an ensemble, a model without a chat template for messages, and unknown fields', async () => {
  const ens = await post(t.app, '/tokenize', { model: 'duo', items: [{ text: 'hi' }] });
  assert.equal(ens.status, 422);
  assert.match(ens.body.error.message, /duo is an ensemble; \/tokenize takes one of its members/);
  const chat = await post(t.app, '/tokenize', { items: [{ messages: [{ role: 'user', content: 'Hi' }] }] });
  assert.equal(chat.status, 422);
  assert.equal(chat.body.error.code, 'no_chat_template');
  const extra = await post(t.app, '/tokenize', { items: [{ text: 'hi' }], weights: { a: 1 } });
  assert.equal(extra.status, 422);
  assert.equal(extra.body.error.code, 'invalid_request');
});
