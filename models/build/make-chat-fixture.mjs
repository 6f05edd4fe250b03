// Builds test/fixtures/models/llama3-chat: a model folder whose tokenizer has Llama 3's chat
// special tokens and chat template, for the chat-input tests. Run from the repo root:
//   node models/build/make-chat-fixture.mjs
// Input: test/fixtures/models/fixture-tokenizer.json, the 4096-token tokenizer the fixture ONNX
// models were built with (models/default's until the trained model replaced it; sha256 below);
// the fixture ONNX models have a 4096-token embedding, so the new special tokens take the ids of
// the last four merged tokens (4092–4095), whose merges are dropped. The folder's model.onnx is a
// symlink to ../all-inputs.onnx (token_type_ids and position_ids inputs, one head).
// Deterministic: the same input gives byte-identical output.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const SOURCE = 'test/fixtures/models/fixture-tokenizer.json';
const SOURCE_SHA256 = '03a750f3ea04ae5c5284471fd3cd3dae586429b340467623864894235f4f2145';
const OUT = 'test/fixtures/models/llama3-chat';
const SPECIAL = ['<|begin_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'];
// Meta-Llama-3-8B-Instruct's chat_template, verbatim.
const CHAT_TEMPLATE =
  "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

const raw = fs.readFileSync(SOURCE);
const sha = createHash('sha256').update(raw).digest('hex');
if (sha !== SOURCE_SHA256) {
  console.error(`${SOURCE} has sha256 ${sha}, expected ${SOURCE_SHA256} (the tokenizer the fixture ONNX models were built with)`);
  process.exit(1);
}
const tok = JSON.parse(raw.toString('utf8'));
const vocab = tok.model.vocab;
const size = Object.keys(vocab).length;
const freed = Object.entries(vocab).filter(([, id]) => id >= size - SPECIAL.length).map(([t]) => t);
for (const t of freed) delete vocab[t];
tok.model.merges = tok.model.merges.filter(([a, b]) => !freed.includes(a + b) && !freed.includes(a) && !freed.includes(b));
SPECIAL.forEach((content, i) =>
  tok.added_tokens.push({ id: size - SPECIAL.length + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }),
);
const bos = { SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } };
tok.post_processor = {
  type: 'TemplateProcessing',
  single: [bos, { Sequence: { id: 'A', type_id: 0 } }],
  pair: [bos, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<|begin_of_text|>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
  special_tokens: { '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [size - SPECIAL.length], tokens: ['<|begin_of_text|>'] } },
};

const write = (name, value) => fs.writeFileSync(path.join(OUT, name), JSON.stringify(value, null, 2) + '\n');
fs.mkdirSync(OUT, { recursive: true });
write('tokenizer.json', tok);
write('tokenizer_config.json', {
  tokenizer_class: 'PreTrainedTokenizerFast',
  model_max_length: 512,
  bos_token: '<|begin_of_text|>',
  eos_token: '<|eot_id|>',
  pad_token: '<pad>',
  chat_template: CHAT_TEMPLATE,
});
write('config.json', { id2label: { 0: 'reward' }, pad_token_id: 1 });
write('reward.json', { name: 'llama3-chat-fixture', input_format: 'chat', max_length: 512 });
const link = path.join(OUT, 'model.onnx');
if (fs.existsSync(link) || fs.lstatSync(link, { throwIfNoEntry: false })) fs.unlinkSync(link);
fs.symlinkSync('../all-inputs.onnx', link);
console.log(`wrote ${OUT}: freed ids ${size - SPECIAL.length}-${size - 1} (${freed.length} tokens), merges ${tok.model.merges.length}`);
