import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { modelDirTarget } from '../../src/eval/eval-target.js';
import { readPairs } from '../../src/eval/read-pairs.js';
import { runEval } from '../../src/eval/run-eval.js';
import { DEFAULT_MODEL, ROOT } from '../helpers/app.js';

const TEST_SPLIT = path.join(ROOT, 'models', 'data', 'hh-harmless-test.jsonl.gz');

/** P(X ≥ k) for X ~ Binomial(n, 1/2): the chance a coin-flipping model does at least this well. */
function binomialTail(n: number, k: number): number {
  let logC = 0; // log C(n, i), built up from i = 0
  let p = 0;
  for (let i = 0; i <= n; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    if (i >= k) p += Math.exp(logC - n * Math.LN2);
  }
  return p;
}

test('binomial tail: hand-checkable small cases', () => {
  assert.ok(Math.abs(binomialTail(3, 3) - 1 / 8) < 1e-12);
  assert.ok(Math.abs(binomialTail(10, 8) - 56 / 1024) < 1e-12); // C(10,8)+C(10,9)+C(10,10) = 45+10+1
});

test('models/default loads, scores the committed test split, and beats chance significantly', async () => {
  const { pairs, shapes } = readPairs(TEST_SPLIT);
  assert.deepEqual([...shapes], ['hh']);
  assert.equal(pairs.length, 177);
  const target = await modelDirTarget(DEFAULT_MODEL, { INTRA_OP_THREADS: '1' });
  try {
    const r = await runEval(target, pairs, TEST_SPLIT);
    const { correct, pairs: n } = r.overall;
    // One-sided exact binomial test against a coin flip (ties count as wrong), at the 5% level.
    const p = binomialTail(n, correct);
    assert.ok(p < 0.05, `accuracy ${correct}/${n}: P(≥ this by chance) = ${p.toExponential(2)}`);
    // The model card reports this very number.
    const card = fs.readFileSync(path.join(DEFAULT_MODEL, 'README.md'), 'utf8');
    assert.match(card, new RegExp(`test accuracy \\| ${r.overall.accuracy.toFixed(4)} \\(${correct}/${n}\\)`));
  } finally {
    await target.close();
  }
});
