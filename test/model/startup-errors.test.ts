import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { modelDir, DEFAULT_NAME } from '../helpers/app.js';
import { spawnServer } from '../helpers/process.js';

/** Starts the real server on a model folder and expects it to stop with one clear line. */
async function expectStartupFailure(dir: string, pattern: RegExp) {
  const s = await spawnServer({ MODEL_DIR: dir });
  const code = await s.exited;
  assert.equal(code, 1);
  const lines = s.stderr().trim().split('\n');
  assert.equal(lines.length, 1, `one line, got: ${s.stderr()}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(s.stderr(), /\n\s+at /, 'no stack trace');
}

test('a missing tokenizer stops startup naming tokenizer.json', async () => {
  const dir = modelDir({ omit: ['tokenizer.json'] });
  await expectStartupFailure(dir, new RegExp(`^startup failed: ${path.join(dir, 'tokenizer.json')}: file is missing$`));
});

test('a corrupt model.onnx stops startup naming the file', async () => {
  const dir = modelDir({ onnx: Buffer.from('this is not an onnx protobuf at all') });
  await expectStartupFailure(dir, new RegExp(`^startup failed: ${path.join(dir, 'model.onnx')}: cannot load ONNX model`));
});

test('a model with an unknown input name stops startup naming the input', async () => {
  const dir = modelDir({ onnx: 'unknown-input.onnx' });
  await expectStartupFailure(dir, /model\.onnx: unknown input "mystery_ids"; inputs must be among input_ids, attention_mask, token_type_ids, position_ids$/);
});

test('a model whose logits are not [batch, num_labels] stops startup', async () => {
  const dir = modelDir({ onnx: 'bad-output.onnx' });
  await expectStartupFailure(dir, /model\.onnx: output logits has rank 3/);
});

test('a missing model file, or folder, stops startup', async () => {
  const dir = modelDir({ omit: ['model.onnx'] });
  await expectStartupFailure(dir, /model\.onnx: file is missing \(nor is there onnx\/model\.onnx\)$/);
  await expectStartupFailure(path.join(dir, 'nope'), /nope: model folder does not exist$/);
});

test('an invalid reward.json names the field', async () => {
  const dir = modelDir({ files: { 'reward.json': JSON.stringify({ temperature: -1 }) } });
  await expectStartupFailure(dir, /reward\.json: field temperature: /);
  const unknown = modelDir({ files: { 'reward.json': JSON.stringify({ temprature: 2 }) } });
  await expectStartupFailure(unknown, /reward\.json: top level: Unrecognized key: "temprature"/);
});

test('an optimum layout with onnx/model.onnx loads', async () => {
  const dir = modelDir();
  fs.mkdirSync(path.join(dir, 'onnx'));
  fs.renameSync(path.join(dir, 'model.onnx'), path.join(dir, 'onnx', 'model.onnx'));
  const s = await spawnServer({ MODEL_DIR: dir });
  await s.waitFor(/"model ready"/);
  s.proc.kill('SIGTERM');
  assert.equal(await s.exited, 0);
});

test('an invalid setting stops startup naming it and its range; --help lists every setting', async () => {
  const s = await spawnServer({ MAX_BATCH_SIZE: '0' });
  assert.equal(await s.exited, 2);
  assert.equal(s.stderr().trim(), 'config error: invalid MAX_BATCH_SIZE (--max-batch-size) = "0": expected an integer from 1 to 4096');
  const h = await spawnServer({}, ['--help']);
  assert.equal(await h.exited, 0);
  assert.match(h.stdout(), /--max-batch-tokens \(MAX_BATCH_TOKENS\)/);
  assert.match(h.stdout(), /--shutdown-grace-ms \(SHUTDOWN_GRACE_MS\)/);
});

test('an ensemble naming a model that is not served stops startup naming it', async () => {
  const s = await spawnServer({ MODEL_DIR: modelDir(), ENSEMBLES: `duo=${DEFAULT_NAME}+missing`, WARMUP: 'false' });
  assert.equal(await s.exited, 1);
  assert.match(s.stderr().trim(), new RegExp(`^startup failed: ensemble duo: no served model is named missing \\(models: ${DEFAULT_NAME}\\)$`));
});

test('input_format "chat" without a chat template stops startup naming reward.json', async () => {
  const dir = modelDir({ files: { 'reward.json': JSON.stringify({ input_format: 'chat' }) } });
  await expectStartupFailure(dir, /reward\.json: input_format "chat" needs a chat template \(chat_template\.jinja or tokenizer_config\.json chat_template\)$/);
});
