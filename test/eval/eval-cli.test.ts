import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import type { EvalReport } from '../../src/eval/run-eval.js';
import { FIXTURES, ROOT, modelDir, startApp, type TestApp } from '../helpers/app.js';

const run = promisify(execFile);
const CLI = path.join(ROOT, 'dist', 'src', 'eval', 'eval-cli.js');
const SAMPLE = path.join(FIXTURES, 'eval', 'sample.jsonl');
const SAMPLE_HH = path.join(FIXTURES, 'eval', 'sample-hh.jsonl.gz');

// token-count.onnx: reward = number of tokens. Each sample pair shares its prompt and differs in
// responses of one to four "the" (one token each, checked below), so Δ = 2, −1, 0, 3, 1 and at
// T = 2 the expected numbers are the ones worked out by hand in pair-metrics.test.ts.
const dir = modelDir({ onnx: 'token-count.onnx', files: { 'reward.json': JSON.stringify({ name: 'token-count', temperature: 2 }) } });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eval-cli-'));

async function cli(args: string[]) {
  const json = path.join(tmp, `report-${Math.random().toString(36).slice(2)}.json`);
  const r = await run(process.execPath, [CLI, ...args, '--json', json], { cwd: ROOT, env: { PATH: process.env.PATH, INTRA_OP_THREADS: '1' } });
  return { stdout: r.stdout, stderr: r.stderr, report: JSON.parse(fs.readFileSync(json, 'utf8')) as EvalReport };
}

function assertHandNumbers(r: EvalReport) {
  const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-6, `${what}: ${a} vs ${b}`);
  assert.equal(r.model, 'token-count');
  assert.equal(r.temperature, 2);
  assert.equal(r.items, 10);
  assert.deepEqual(r.margins, [2, -1, 0, 3, 1]);
  assert.deepEqual([r.overall.pairs, r.overall.correct, r.overall.ties], [5, 3, 1]);
  close(r.overall.accuracy, 0.6, 'accuracy');
  close(r.overall.meanMargin, 1, 'mean margin');
  close(r.overall.ece, 0.1392571, 'ece');
  assert.deepEqual(Object.keys(r.subsets), ['alpha', 'beta']);
  close(r.subsets.alpha!.accuracy, 1 / 3, 'alpha accuracy');
  close(r.subsets.alpha!.ece, 1.7828014 / 6, 'alpha ece');
  close(r.subsets.beta!.accuracy, 1, 'beta accuracy');
  close(r.subsets.beta!.meanMargin, 2, 'beta margin');
  assert.ok(r.itemsPerSecond > 0);
}

let served: TestApp;
let url: string;
before(async () => {
  served = await startApp({ MODEL_DIR: dir });
  url = await served.app.listen({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await served.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('premise: each "the" of the sample responses is one token', async () => {
  const { TokenEncoder } = await import('../../src/tokenize/token-encoder.js');
  const read = (f: string) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  const enc = new TokenEncoder(read('tokenizer.json'), read('tokenizer_config.json'), 512);
  const len = (response: string) => (enc.encode({ text: `\n\nHuman: q\n\nAssistant: ${response}`, prefix: null }, 'auto') as { ids: number[] }).ids.length;
  assert.equal(len('the the the the') - len('the'), 3);
});

test('--model-dir on RewardBench-style JSONL gives the hand-computed numbers, table on stdout', async () => {
  const { stdout, stderr, report } = await cli(['--model-dir', dir, '--data', SAMPLE]);
  assertHandNumbers(report);
  assert.match(stdout, /^alpha\s+3\s+0\.3333\s+1\s+0\.3333\s+0\.2971$/m);
  assert.match(stdout, /^beta\s+2\s+1\.0000\s+0\s+2\.0000\s+0\.2800$/m);
  assert.match(stdout, /^total\s+5\s+0\.6000\s+1\s+1\.0000\s+0\.1393$/m);
  assert.match(stdout, /accuracy 0\.6000 \(3\/5 strictly preferred chosen; 1 ties counted wrong\)/);
  assert.equal(stderr, '', 'no progress bar when stderr is not a terminal');
});

test('HH dialogues in JSONL.gz score the same as the prompt/response form', async () => {
  assertHandNumbers((await cli(['--model-dir', dir, '--data', SAMPLE_HH])).report);
});

test('--url scores through a running service with the same numbers', async () => {
  const { report } = await cli(['--url', url, '--data', SAMPLE]);
  assertHandNumbers(report);
  assert.equal(report.target, url);
});

test('bad input: exit 1 naming the line; bad usage: exit 2', async () => {
  const bad = path.join(tmp, 'bad.jsonl');
  fs.writeFileSync(bad, '{"chosen": "a", "rejected": "b"}\n{"chosen": "a"}\n');
  await assert.rejects(cli(['--model-dir', dir, '--data', bad]), (e: { code: number; stderr: string }) => e.code === 1 && e.stderr.includes('bad.jsonl:2: expected string fields'));
  const chat = path.join(tmp, 'chat.jsonl');
  fs.writeFileSync(chat, '{"chosen": [{"role": "user", "content": "a"}], "rejected": []}\n');
  await assert.rejects(cli(['--model-dir', dir, '--data', chat]), (e: { stderr: string }) => /chat.jsonl:1: .*chat message lists are not supported/.test(e.stderr));
  await assert.rejects(cli(['--data', SAMPLE]), (e: { code: number; stderr: string }) => e.code === 2 && e.stderr.includes('exactly one of --model-dir and --url'));
});
