import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { DEFAULT_MODEL, filler, FIXTURES, modelDir, post, startApp, type TestApp } from '../helpers/app.js';

// Message shapes beyond {role, content: string}: extra OpenAI fields reach the template, content
// may be a list of text parts, anything else is refused.
const LLAMA = path.join(FIXTURES, 'models', 'llama3-chat');
// A template that renders reasoning_content, name and tool calls, like Qwen3's does.
const THINKING = "{% for m in messages %}{{ m.role }}{% if m.name is defined %}({{ m.name }}){% endif %}: {% if m.reasoning_content is defined %}<think>{{ m.reasoning_content }}</think>{% endif %}{{ m.content }}{% for c in m.tool_calls or [] %} call {{ c.function.name }} {{ c.function.arguments | tojson }}{% endfor %}{{ '\n' }}{% endfor %}";
const config = JSON.parse(fs.readFileSync(path.join(DEFAULT_MODEL, 'tokenizer_config.json'), 'utf8'));
const thinkingModel = modelDir({
  files: {
    'tokenizer_config.json': JSON.stringify({ ...config, chat_template: THINKING }),
    'reward.json': JSON.stringify({ ...JSON.parse(fs.readFileSync(path.join(DEFAULT_MODEL, 'reward.json'), 'utf8')), name: 'thinking' }),
  },
});

let t: TestApp;
before(async () => {
  t = await startApp({ MODELS: `${LLAMA},${thinkingModel}`, INFER_WORKERS: '1' });
});
after(async () => {
  await t.close();
  fs.rmSync(thinkingModel, { recursive: true, force: true });
});

const llamaText = (m: { role: string; content: string }[]) =>
  '<|begin_of_text|>' + m.map((x) => `<|start_header_id|>${x.role}<|end_header_id|>\n\n${x.content.trim()}<|eot_id|>`).join('');

test('reasoning_content, name and tool_calls reach the chat template unchanged', async () => {
  const messages = [
    { role: 'user', name: 'ana', content: 'Is ice cold?' },
    { role: 'assistant', content: 'Yes.', reasoning_content: 'Ice is frozen water.', tool_calls: [{ id: 'call00001', type: 'function', function: { name: 'thermometer', arguments: { unit: 'C' } } }] },
    { role: 'tool', tool_call_id: 'call00001', content: '-4' },
    { role: 'assistant', content: 'It is cold.', reasoning_content: 'Minus four is below zero.' },
  ];
  const text = 'user(ana): Is ice cold?\nassistant: <think>Ice is frozen water.</think>Yes. call thermometer {"unit": "C"}\ntool: -4\nassistant: <think>Minus four is below zero.</think>It is cold.\n';
  const r = await post(t.app, '/score', { model: 'thinking', items: [{ messages }, { text }] });
  assert.equal(r.status, 200);
  assert.equal(r.body.rewards[0], r.body.rewards[1]);
  // Different reasoning is a different input.
  const other = structuredClone(messages);
  other[3]!.reasoning_content = 'Because the tool said so.';
  const o = await post(t.app, '/score', { model: 'thinking', items: [{ messages: other }] });
  assert.notEqual(o.body.rewards[0], r.body.rewards[0]);
});

test('content as text parts scores as the parts joined with "\\n", also as a prompt and in /rank', async () => {
  const asText = [{ role: 'system', content: 'Answer briefly.' }, { role: 'user', content: 'How do I\nboil an egg?' }, { role: 'assistant', content: 'Simmer it.' }];
  const asParts = [
    { role: 'system', content: [{ type: 'text', text: 'Answer briefly.' }] },
    { role: 'user', content: [{ type: 'text', text: 'How do I' }, { type: 'text', text: 'boil an egg?' }] },
    { role: 'assistant', content: [{ type: 'text', text: 'Simmer it.' }] },
  ];
  const r = await post(t.app, '/score', { items: [{ messages: asText }, { messages: asParts }, { prompt: asParts.slice(0, 2), response: 'Simmer it.' }, { text: llamaText(asText) }] });
  assert.equal(r.status, 200);
  assert.equal(new Set(r.body.rewards).size, 1);
  const rank = await post(t.app, '/rank', { messages: asParts.slice(0, 2), responses: ['Simmer it.'] });
  assert.deepEqual(rank.body.rewards, [r.body.rewards[0]]);
});

test('a long conversation in parts is truncated from its oldest turns, keeping the last assistant turn', async () => {
  const long = [
    { role: 'user', content: [{ type: 'text', text: filler(7, 600) }, { type: 'text', text: filler(8, 10) }] },
    { role: 'assistant', content: filler(9, 600) },
    { role: 'user', content: [{ type: 'text', text: 'And now?' }] },
    { role: 'assistant', content: [{ type: 'text', text: filler(10, 12) }] },
  ];
  const r = await post(t.app, '/score', { items: [{ messages: long }] });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.truncated, [true]);
  assert.equal(r.body.usage.tokens, 512);
  // Cut exactly as the same conversation given as strings.
  const last = await post(t.app, '/score', { items: [{ messages: long.map((m) => ({ ...m, content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join('\n') })) }] });
  assert.deepEqual(last.body.rewards, r.body.rewards);
});

test('a non-text content part is a 422 naming the field path and the part type; nothing is queued', async () => {
  for (const [part, type] of [
    [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }, 'image_url'],
    [{ type: 'input_audio', input_audio: { data: '', format: 'wav' } }, 'input_audio'],
  ] as const) {
    const r = await post(t.app, '/score', { items: [{ text: 'fine' }, { messages: [{ role: 'user', content: [{ type: 'text', text: 'Look:' }, part] }, { role: 'assistant', content: 'A cat.' }] }] });
    assert.equal(r.status, 422);
    assert.deepEqual(Object.keys(r.body), ['error']);
    assert.deepEqual(Object.keys(r.body.error).sort(), ['code', 'message']);
    assert.equal(r.body.error.code, 'invalid_request');
    assert.match(r.body.error.message, new RegExp(`^items\\.1\\.messages\\.0\\.content\\.1\\.type: content part type "${type}" is not supported`));
  }
  const rank = await post(t.app, '/rank', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }], responses: ['a'] });
  assert.equal(rank.status, 422);
  assert.match(rank.body.error.message, /^messages\.0\.content\.0\.type: content part type "image_url"/);
  assert.equal(t.models.default.batcher.depth, 0);
});

test('unknown message fields are refused, not ignored; parts are capped like other texts', async () => {
  const typo = await post(t.app, '/score', { items: [{ messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello', reasoning: 'misspelt' }] }] });
  assert.equal(typo.status, 422);
  assert.equal(typo.body.error.code, 'invalid_request');
  assert.match(typo.body.error.message, /^items\.0\.messages\.1: .*"reasoning"/);
  const extraKey = await post(t.app, '/score', { items: [{ messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi', cache_control: {} }] }] }] });
  assert.equal(extraKey.status, 422);
  assert.match(extraKey.body.error.message, /content\.0\.cache_control/);
  const long = await post(t.app, '/score', { items: [{ messages: [{ role: 'user', content: [{ type: 'text', text: 'x'.repeat(t.config.maxCharsPerText + 1) }] }] }] });
  assert.equal(long.body.error.code, 'text_too_long');
  const many = await post(t.app, '/score', { items: [{ messages: [{ role: 'user', content: Array(t.config.maxItemsPerRequest + 1).fill({ type: 'text', text: 'a' }) }] }] });
  assert.equal(many.body.error.code, 'too_many_items');
  assert.match(many.body.error.message, /^items\.0\.messages\.0\.content has more than/);
});
