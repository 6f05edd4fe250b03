// A decoder reward model the service cannot score exactly is refused at startup with one line;
// one it can is never refused. Fixtures: models/build/decoder-rm and make-dtype-fixtures.py.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { checkModel } from '../../src/check/model-check-cli.js';
import { createRuntime } from '../../src/core/runtime.js';
import { createMetrics } from '../../src/metrics.js';
import { DEFAULT_MODEL, FIXTURES, ROOT, modelDir, testConfig } from '../helpers/app.js';
import { spawnServer } from '../helpers/process.js';

const fixture = (name: string) => path.join(FIXTURES, 'models', name);

async function expectRefusal(dir: string, pattern: RegExp) {
  const s = await spawnServer({ MODEL_DIR: dir, INFER_WORKERS: '1' });
  assert.equal(await s.exited, 1);
  const lines = s.stderr().trim().split('\n');
  assert.equal(lines.length, 1, `one line, got: ${s.stderr()}`);
  assert.match(lines[0]!, pattern);
}

test('no pad id in any file: refused, naming the field to set', async () => {
  await expectRefusal(fixture('llama31-rm-nopad'), /^startup failed: .*llama31-rm-nopad\/config\.json: no pad token id: .*set pad_token_id in config\.json \(or reward\.json\)/);
});

test('padding self-check: a graph that pools at the last position, given a pad id, is refused', async () => {
  const dir = modelDir({ from: 'llama31-rm-nopad', files: { 'reward.json': JSON.stringify({ pad_token_id: 128004 }) } });
  await expectRefusal(dir, /^startup failed: .*model\.onnx: padding self-check failed: a probe item's logit 0 is .* alone but .* right-padded to \d+ tokens with pad id 128004 \(reward\.json pad_token_id\); the graph reads padding/);
});

test('padding self-check: a pad id other than the one the graph pools by is refused', async () => {
  const dir = modelDir({ from: 'qwen3-rm', files: { 'reward.json': JSON.stringify({ pad_token_id: 0 }) } });
  await expectRefusal(dir, /padding self-check failed: .* with pad id 0 \(reward\.json pad_token_id\)/);
});

test('logits of a type other than float32/float16 are refused at startup, naming the type', async () => {
  await expectRefusal(modelDir({ onnx: 'int64-logits.onnx' }), /model\.onnx: output logits is int64; the service reads float32 or float16 logits/);
  await expectRefusal(modelDir({ onnx: 'bfloat16-logits.onnx' }), /model\.onnx: cannot load ONNX model: an input or output is bfloat16/);
});

test('the padding self-check passes on every committed servable model', async () => {
  const dirs = [DEFAULT_MODEL, fixture('llama3-chat'), fixture('qwen3-rm'), fixture('qwen3-rm-fp16'), fixture('llama31-rm'), modelDir({ onnx: 'two-heads.onnx' }), modelDir({ onnx: 'all-inputs.onnx' })];
  for (const dir of dirs) {
    const rt = await createRuntime(testConfig({ MODEL_DIR: dir, INFER_WORKERS: '1' }), createMetrics());
    try {
      await rt.selfCheck();
    } finally {
      await rt.close();
    }
  }
});

test('model:check prints each resolved setting with its source, the rendered sample and its tokens', async () => {
  const { lines, problems } = await checkModel(fixture('qwen3-rm'), { INTRA_OP_THREADS: '1' });
  assert.deepEqual(problems, []);
  const text = lines.join('\n');
  assert.match(text, /input_format\s+chat\s+tokenizer_config\.json chat_template/);
  assert.match(text, /pad_token_id\s+151643\s+config\.json pad_token_id/);
  assert.match(text, /max_length\s+8192\s+server setting MAX_LENGTH_CAP \(below tokenizer_config\.json model_max_length 131072\)/);
  assert.match(text, /logits float32 \[batch, 1\]/);
  assert.match(text, /"<\|im_start\|>system\\nYou are a helpful assistant\.<\|im_end\|>\\n<\|im_start\|>user\\n/);
  assert.match(text, /151644:<\|im_start\|> /);
  assert.match(text, /padding self-check: passed/);
});

test('model:check scores a process reward model on a sample in steps, each ending with its step tag', async () => {
  const { lines, problems } = await checkModel(fixture('prm-2label'), { INTRA_OP_THREADS: '1' });
  assert.deepEqual(problems, []);
  const text = lines.join('\n');
  assert.match(text, /Put it in boiling water for nine minutes\.<extra_0>Then cool it in cold water\.<extra_0>/);
  assert.match(text, /sample reward: \d/);
});

test('model:check flags a double BOS and a failing self-check, and exits 1', async () => {
  const twice = "{{ bos_token }}{% for m in messages %}{{ bos_token }}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n{{ m.content }}<|eot_id|>{% endfor %}";
  const llama = modelDir({ from: 'llama31-rm', files: { 'reward.json': JSON.stringify({ input_format: 'chat' }) } });
  const tc = path.join(llama, 'tokenizer_config.json');
  fs.writeFileSync(tc, JSON.stringify({ ...JSON.parse(fs.readFileSync(tc, 'utf8')), chat_template: twice }));
  const doubled = await checkModel(llama, { INTRA_OP_THREADS: '1' });
  assert.equal(doubled.problems.length, 1);
  assert.match(doubled.problems[0]!, /starts with two BOS tokens \(<\|begin_of_text\|>\)/);

  const nopad = modelDir({ from: 'llama31-rm-nopad', files: { 'reward.json': JSON.stringify({ pad_token_id: 128004 }) } });
  const cli = path.join(ROOT, 'dist', 'src', 'check', 'model-check-cli.js');
  const run = await promisify(execFile)(process.execPath, [cli, nopad], { env: { PATH: process.env.PATH, INTRA_OP_THREADS: '1' } }).then(
    () => ({ code: 0, stdout: '' }),
    (err: { code: number; stdout: string }) => err,
  );
  assert.equal(run.code, 1);
  assert.match(run.stdout, /pad_token_id\s+128004\s+reward\.json pad_token_id/);
  assert.match(run.stdout, /PROBLEM: .*padding self-check failed/);
});
