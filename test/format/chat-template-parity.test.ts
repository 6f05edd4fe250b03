import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ChatTemplate, type SpecialTokens } from '../../src/format/chat-template.js';
import { FormatError, type Message } from '../../src/format/format.js';
import { FIXTURES, ROOT } from '../helpers/app.js';

// Golden renders by Python Jinja2 with transformers' settings (models/build/chat-templates).
const DIR = path.join(FIXTURES, 'chat-templates');
const read = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));
type Spec = { tokenizer_config: string } | { file: string; special_tokens: Record<string, string> };
type Golden = { template: string; conversation: string; text?: string; error?: string };
const templates: Record<string, Spec> = read(path.join(DIR, 'templates.json'));
const conversations = new Map<string, Message[]>(read(path.join(DIR, 'conversations.json')).map((c: { id: string; messages: Message[] }) => [c.id, c.messages]));
const golden: Golden[] = read(path.join(DIR, 'golden.json'));

/** The `*_token` strings of a tokenizer_config.json, as transformers passes them to the template. */
function specialTokens(cfg: Record<string, unknown>): SpecialTokens {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(cfg)) {
    if (!k.endsWith('_token')) continue;
    const s = typeof v === 'object' && v !== null ? (v as { content?: unknown }).content : v;
    if (typeof s === 'string') out[k] = s;
  }
  return out;
}

function load(spec: Spec): ChatTemplate {
  if ('tokenizer_config' in spec) {
    const cfg = read(path.join(ROOT, spec.tokenizer_config));
    return new ChatTemplate(cfg.chat_template, specialTokens(cfg));
  }
  return new ChatTemplate(fs.readFileSync(path.join(ROOT, spec.file), 'utf8'), spec.special_tokens);
}

test('the golden set covers every template and conversation', () => {
  assert.equal(golden.length, Object.keys(templates).length * conversations.size);
});

for (const [name, spec] of Object.entries(templates)) {
  test(`${name}: every conversation renders byte-identically to Python Jinja2, or both refuse it`, () => {
    const chat = load(spec);
    const differ: string[] = [];
    for (const g of golden.filter((r) => r.template === name)) {
      let text: string | null = null;
      try {
        text = chat.render(conversations.get(g.conversation)!);
      } catch (err) {
        if (!(err instanceof FormatError)) throw err;
      }
      const ok = g.error !== undefined ? text === null : text === g.text;
      if (!ok) differ.push(`${g.conversation}: expected ${JSON.stringify(g.text ?? g.error)}, got ${JSON.stringify(text ?? 'a refusal')}`);
    }
    assert.deepEqual(differ, []);
  });
}
