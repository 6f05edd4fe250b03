import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { DEFAULT_MODEL, filler, FIXTURES, post, startApp, type TestApp, DEFAULT_NAME } from '../helpers/app.js';

const LLAMA = path.join(FIXTURES, 'models', 'llama3-chat');
const conv = (i: number) => [
  { role: 'system', content: 'Answer briefly.' },
  { role: 'user', content: filler(i, 8) },
  { role: 'assistant', content: filler(i + 100, 12) },
];
const render = (m: { role: string; content: string }[]) =>
  '<|begin_of_text|>' + m.map((x) => `<|start_header_id|>${x.role}<|end_header_id|>\n\n${x.content.trim()}<|eot_id|>`).join('');

let t: TestApp;
before(async () => {
  // The Llama 3 chat fixture (input_format "chat") beside models/default (no chat template).
  t = await startApp({ MODELS: `${LLAMA},${DEFAULT_MODEL}`, INFER_WORKERS: '1' });
});
after(() => t.close());

test('many conversations per request; each scores as its hand-rendered text and as prompt-messages + response', async () => {
  const convs = [1, 2, 3, 4, 5].map(conv);
  const byMessages = await post(t.app, '/score', { items: convs.map((messages) => ({ messages })) });
  assert.equal(byMessages.status, 200);
  assert.equal(byMessages.body.model, 'llama3-chat-fixture');
  assert.equal(byMessages.body.rewards.length, 5);
  assert.equal(new Set(byMessages.body.rewards).size, 5);
  const byText = await post(t.app, '/score', { items: convs.map((m) => ({ text: render(m) })) });
  assert.deepEqual(byText.body.rewards, byMessages.body.rewards);
  assert.equal(byText.body.usage.tokens, byMessages.body.usage.tokens);
  const byPrompt = await post(t.app, '/score', { items: convs.map((m) => ({ prompt: m.slice(0, 2), response: m[2]!.content })) });
  assert.deepEqual(byPrompt.body.rewards, byMessages.body.rewards);
});

test('on a chat model a {prompt, response} string pair is a user turn and an assistant turn', async () => {
  const chat = await post(t.app, '/score', { items: [{ prompt: 'How do I boil an egg?', response: 'Simmer it.' }] });
  const text = await post(t.app, '/score', { items: [{ text: render([{ role: 'user', content: 'How do I boil an egg?' }, { role: 'assistant', content: 'Simmer it.' }]) }] });
  assert.deepEqual(chat.body.rewards, text.body.rewards);
});

test('/compare and /rank take a conversation as the prompt', async () => {
  const prompt = conv(3).slice(0, 2);
  const [a, b] = ['Simmer it.', 'No idea.'];
  const s = await post(t.app, '/score', { items: [{ messages: [...prompt, { role: 'assistant', content: a }] }, { messages: [...prompt, { role: 'assistant', content: b }] }] });
  const c = await post(t.app, '/compare', { pairs: [{ prompt, chosen: a, rejected: b }] });
  assert.equal(c.status, 200);
  assert.equal(c.body.pairs[0].margin, s.body.rewards[0] - s.body.rewards[1]);
  const r = await post(t.app, '/rank', { messages: prompt, responses: [a, b] });
  assert.deepEqual(r.body.rewards, s.body.rewards);
});

test('conversation input to a model without a chat template is a 422 naming the item; other requests are unharmed', async () => {
  const r = await post(t.app, '/score', { model: DEFAULT_NAME, items: [{ text: 'fine' }, { messages: conv(1) }] });
  assert.equal(r.status, 422);
  assert.equal(r.body.error.code, 'no_chat_template');
  assert.match(r.body.error.message, new RegExp(`^Item 1: model ${DEFAULT_NAME} has no chat template`));
  const f = await post(t.app, '/score', { model: DEFAULT_NAME, format: 'chat', items: [{ prompt: 'a', response: 'b' }] });
  assert.equal(f.body.error.code, 'no_chat_template');
  const ok = await post(t.app, '/score', { model: DEFAULT_NAME, items: [{ prompt: 'a', response: 'b' }] });
  assert.equal(ok.status, 200);
  assert.equal(t.models.all()[1]!.batcher.depth, 0);
});

test('a long conversation is truncated from its oldest turns, keeping the last assistant turn', async () => {
  const long = [{ role: 'user', content: filler(7, 600) }, { role: 'assistant', content: filler(8, 600) }, ...conv(9).slice(1)];
  const r = await post(t.app, '/score', { items: [{ messages: long }] });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.truncated, [true]);
  assert.equal(r.body.usage.tokens, 512);
  const err = await post(t.app, '/score', { items: [{ messages: long }], truncation: 'error' });
  assert.equal(err.body.error.code, 'item_too_long');
});
