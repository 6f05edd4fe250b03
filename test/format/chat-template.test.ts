import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ChatTemplate } from '../../src/format/chat-template.js';
import { FormatError, Formatter } from '../../src/format/format.js';
import { HH_TEMPLATE } from '../../src/model/model-folder.js';
import { FIXTURES } from '../helpers/app.js';

const cfg = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'models', 'llama3-chat', 'tokenizer_config.json'), 'utf8'));
const llama3 = new ChatTemplate(cfg.chat_template, { bos_token: cfg.bos_token, eos_token: cfg.eos_token });
const conversation = [
  { role: 'system', content: 'Answer briefly.' },
  { role: 'user', content: '  How do I boil an egg?\n' },
  { role: 'assistant', content: 'Simmer it for nine minutes.' },
];

test('the committed Llama 3 chat template renders exactly the hand-built string (no generation prompt)', () => {
  const expected =
    '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nAnswer briefly.<|eot_id|>' +
    '<|start_header_id|>user<|end_header_id|>\n\nHow do I boil an egg?<|eot_id|>' +
    '<|start_header_id|>assistant<|end_header_id|>\n\nSimmer it for nine minutes.<|eot_id|>';
  assert.equal(llama3.render(conversation), expected);
});

test('the last assistant turn is located for truncation, in rendered chats and in pre-formatted text', () => {
  const f = new Formatter(HH_TEMPLATE, llama3);
  const chat = f.format({ messages: conversation });
  assert.equal(chat.prefix, chat.text.slice(0, chat.text.length - 'Simmer it for nine minutes.<|eot_id|>'.length));
  // {prompt: [...messages], response} is the same conversation.
  assert.deepEqual(f.format({ prompt: conversation.slice(0, 2), response: conversation[2]!.content }), chat);
  // Text items find the same boundary with the chat format, and the HH one with the template format.
  assert.deepEqual(f.format({ text: chat.text }, 'chat'), { ...chat, cutLastTurn: true });
  const hh = '\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant: d';
  assert.equal(f.format({ text: hh }, 'template').prefix, '\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant: ');
  // A conversation that does not end with the assistant has no protected turn.
  assert.equal(f.format({ messages: conversation.slice(0, 2) }).prefix, null);
  // With "pair", a prompt/response item is two sequences.
  assert.deepEqual(f.format({ prompt: 'q', response: 'r' }, 'pair'), { text: 'q', prefix: null, second: 'r' });
});

test('conversations without a chat template, or refused by it, are FormatErrors with their code', () => {
  assert.throws(
    () => new Formatter(HH_TEMPLATE).format({ messages: conversation }),
    (e: unknown) => e instanceof FormatError && e.code === 'no_chat_template',
  );
  const strict = new ChatTemplate("{% if messages[0]['role'] != 'user' %}{{ raise_exception('Conversations must start with the user') }}{% endif %}{{ messages[0]['content'] }}", {});
  assert.throws(
    () => strict.render(conversation),
    (e: unknown) => e instanceof FormatError && e.code === 'chat_template_error' && /must start with the user/.test(e.message),
  );
});
