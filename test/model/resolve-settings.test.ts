import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ModelLoadError, readModelFolder } from '../../src/model/model-folder.js';
import { DEFAULT_MODEL, modelDir } from '../helpers/app.js';

const LIMITS = { maxLengthCap: 8192 };
const read = (dir: string, limits = LIMITS) => readModelFolder(dir, limits);
const json = (v: unknown) => JSON.stringify(v);
const defaultConfig = JSON.parse(fs.readFileSync(path.join(DEFAULT_MODEL, 'config.json'), 'utf8'));
const defaultTokConfig = JSON.parse(fs.readFileSync(path.join(DEFAULT_MODEL, 'tokenizer_config.json'), 'utf8'));
const without = (o: Record<string, unknown>, ...keys: string[]) => Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));

test('pad id: reward.json, then config.json, then tokenizer_config pad_token, then tokenizer.json padding', () => {
  const both = read(modelDir({ files: { 'reward.json': json({ pad_token_id: 3 }) } }));
  assert.deepEqual([both.padTokenId, both.sources.pad_token_id], [3, 'reward.json pad_token_id']);

  const fromConfig = read(modelDir({ omit: ['reward.json'], files: { 'config.json': json({ ...defaultConfig, pad_token_id: 2 }) } }));
  assert.deepEqual([fromConfig.padTokenId, fromConfig.sources.pad_token_id], [2, 'config.json pad_token_id']);

  // <unk> is id 3 in the default tokenizer: looked up in added_tokens.
  const fromTokConfig = read(
    modelDir({ files: { 'config.json': json(without(defaultConfig, 'pad_token_id')), 'tokenizer_config.json': json({ ...defaultTokConfig, pad_token: '<unk>' }) } }),
  );
  assert.deepEqual([fromTokConfig.padTokenId, fromTokConfig.sources.pad_token_id], [3, 'tokenizer_config.json pad_token "<unk>"']);

  const tok = JSON.parse(fs.readFileSync(path.join(DEFAULT_MODEL, 'tokenizer.json'), 'utf8'));
  const fromPadding = read(
    modelDir({
      files: {
        'config.json': json(without(defaultConfig, 'pad_token_id')),
        'tokenizer_config.json': json(without(defaultTokConfig, 'pad_token')),
        'tokenizer.json': json({ ...tok, padding: { pad_id: 2, pad_token: '</s>' } }),
      },
    }),
  );
  assert.deepEqual([fromPadding.padTokenId, fromPadding.sources.pad_token_id], [2, 'tokenizer.json padding.pad_id']);
});

test('no pad id anywhere refuses the folder with one line saying which field to set', () => {
  const dir = modelDir({ files: { 'config.json': json(without(defaultConfig, 'pad_token_id')), 'tokenizer_config.json': json(without(defaultTokConfig, 'pad_token')) } });
  assert.throws(
    () => read(dir),
    (err: unknown) => err instanceof ModelLoadError && /config\.json: no pad token id: .*set pad_token_id in config\.json \(or reward\.json\)/.test(err.message) && !err.message.includes('\n'),
  );
});

test('a pad_token missing from the vocabulary is refused, not replaced by 0', () => {
  const dir = modelDir({ files: { 'config.json': json(without(defaultConfig, 'pad_token_id')), 'tokenizer_config.json': json({ ...defaultTokConfig, pad_token: '<|nope|>' }) } });
  assert.throws(() => read(dir), /tokenizer_config\.json: pad_token "<\|nope\|>" is not in the tokenizer's vocabulary/);
});

test('max_length: reward.json, then a real model_max_length, then config.json positions, then 512; capped by MAX_LENGTH_CAP', () => {
  const r = read(DEFAULT_MODEL);
  assert.deepEqual([r.reward.maxLength, r.sources.max_length], [192, 'reward.json max_length']);

  const noReward = modelDir({ omit: ['reward.json'] });
  assert.deepEqual([read(noReward).reward.maxLength, read(noReward).sources.max_length], [192, 'tokenizer_config.json model_max_length']);

  // Llama 3.1 ships model_max_length 1e30: the position limit of config.json applies instead.
  const huge = modelDir({
    omit: ['reward.json'],
    files: { 'tokenizer_config.json': json({ ...defaultTokConfig, model_max_length: 1e30 }), 'config.json': json({ ...defaultConfig, max_position_embeddings: 4096 }) },
  });
  assert.deepEqual([read(huge).reward.maxLength, read(huge).sources.max_length], [4096, 'config.json max_position_embeddings']);

  const capped = read(huge, { maxLengthCap: 1000 });
  assert.equal(capped.reward.maxLength, 1000);
  assert.equal(capped.sources.max_length, 'server setting MAX_LENGTH_CAP (below config.json max_position_embeddings 4096)');

  const gpt2 = modelDir({
    omit: ['reward.json'],
    files: { 'tokenizer_config.json': json(without(defaultTokConfig, 'model_max_length')), 'config.json': json({ ...without(defaultConfig, 'max_position_embeddings'), n_positions: 1024 }) },
  });
  assert.deepEqual([read(gpt2).reward.maxLength, read(gpt2).sources.max_length], [1024, 'config.json n_positions']);

  const nothing = modelDir({
    omit: ['reward.json'],
    files: { 'tokenizer_config.json': json(without(defaultTokConfig, 'model_max_length')), 'config.json': json(without(defaultConfig, 'max_position_embeddings')) },
  });
  assert.deepEqual([read(nothing).reward.maxLength, read(nothing).sources.max_length], [512, 'built-in default']);
});

test('without reward.json a folder with a chat template serves input_format chat, never the HH template', () => {
  const template = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}";
  const chat = read(modelDir({ omit: ['reward.json'], files: { 'tokenizer_config.json': json({ ...defaultTokConfig, chat_template: template }) } }));
  assert.equal(chat.reward.inputFormat, 'chat');
  assert.equal(chat.sources.input_format, 'tokenizer_config.json chat_template');

  const plain = read(modelDir({ omit: ['reward.json'] }));
  assert.equal(plain.reward.inputFormat, 'template');
  assert.equal(plain.sources.input_format, 'built-in default');
  assert.equal(plain.sources.temperature, 'built-in default');

  const declared = read(modelDir({ files: { 'tokenizer_config.json': json({ ...defaultTokConfig, chat_template: template }) } }));
  assert.equal(declared.reward.inputFormat, 'template', 'reward.json input_format wins');
  assert.equal(declared.sources.input_format, 'reward.json input_format');
});

test('chat_template.jinja (what transformers 5 saves) takes priority over tokenizer_config.json chat_template', () => {
  const inConfig = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}";
  const inFile = '{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}';
  const both = read(modelDir({ omit: ['reward.json'], files: { 'tokenizer_config.json': json({ ...defaultTokConfig, chat_template: inConfig }), 'chat_template.jinja': inFile } }));
  assert.equal(both.chatTemplate, inFile);
  assert.equal(both.reward.inputFormat, 'chat');
  assert.equal(both.sources.chat_template, 'chat_template.jinja');
  const fileOnly = read(modelDir({ omit: ['reward.json'], files: { 'chat_template.jinja': inFile } }));
  assert.equal(fileOnly.chatTemplate, inFile);
  assert.equal(fileOnly.sources.input_format, 'chat_template.jinja');
});

test('reward.json prefix_reuse (model:import --prefix-graphs) is read for its graph and changes no setting', () => {
  const kv = (stem: string) => ({ key: `${stem}.{i}.key`, value: `${stem}.{i}.value` });
  const prefixReuse = {
    layers: 2,
    kv_heads: 1,
    head_dim: 8,
    dtype: 'float32',
    continue: { file: 'continue.onnx', inputs: ['input_ids', 'attention_mask', 'position_ids'], past: kv('past_key_values'), present: kv('present'), output: 'logits' },
  };
  const plain = read(modelDir({ files: { 'reward.json': json({ name: 'rm' }) } }));
  const withGraph = read(modelDir({ files: { 'reward.json': json({ name: 'rm', prefix_reuse: prefixReuse }), 'continue.onnx': 'graph' } }));
  assert.deepEqual([withGraph.reward, withGraph.sources], [plain.reward, plain.sources]);
  assert.equal(plain.prefixGraphs, null);
  assert.deepEqual(
    { ...withGraph.prefixGraphs, continuePath: path.basename(withGraph.prefixGraphs!.continuePath) },
    {
      continuePath: 'continue.onnx',
      past: ['past_key_values.0.key', 'past_key_values.0.value', 'past_key_values.1.key', 'past_key_values.1.value'],
      present: ['present.0.key', 'present.0.value', 'present.1.key', 'present.1.value'],
      output: 'logits',
      kvHeads: 1,
      headDim: 8,
      dtype: 'float32',
    },
  );
  assert.throws(() => read(modelDir({ files: { 'reward.json': json({ prefix_reuse: prefixReuse }) } })), /prefix_reuse names continue\.onnx, which is missing/);
  const refused = (prefix_reuse: unknown, field: RegExp) =>
    assert.throws(() => read(modelDir({ files: { 'reward.json': json({ prefix_reuse }), 'continue.onnx': 'graph' } })), (err: unknown) => err instanceof ModelLoadError && field.test(err.message));
  refused({ ...prefixReuse, dtype: 'bfloat16' }, /reward\.json: field prefix_reuse\.dtype: /);
  refused({ ...prefixReuse, continue: { ...prefixReuse.continue, present: { key: 'present.key', value: 'present.{i}.value' } } }, /field prefix_reuse\.continue\.present\.key: /);
  refused({ ...prefixReuse, kv_head: 1 }, /field prefix_reuse: Unrecognized key: "kv_head"/);
  // A folder from the earlier three-graph import is told what to do.
  const earlier = { ...prefixReuse, prefix: { file: 'prefix.onnx', inputs: ['input_ids'], present: kv('present') } };
  refused(earlier, /field prefix_reuse\.prefix: a separate prefix graph is from an earlier model:import; import the checkpoint again with --prefix-graphs/);
});
