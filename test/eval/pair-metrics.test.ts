import assert from 'node:assert/strict';
import { test } from 'node:test';
import { metricsBySubset, pairMetrics } from '../../src/eval/pair-metrics.js';

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-6, `${what}: ${a} vs ${b}`);

// Margins Δ = 2, −1, 0, 3, 1 at T = 2. σ(1) = 0.7310586, σ(−0.5) = 0.3775407, σ(0) = 0.5,
// σ(1.5) = 0.8175745, σ(0.5) = 0.6224593. Both orders of each pair, by bin of [0, 1]:
//   bin 1: 0.1824255 (out 0)              → 1 · 0.1824255
//   bin 2: 0.2689414 (out 0)              → 1 · 0.2689414
//   bin 3: 0.3775407 (out 1), 0.3775407 (out 0)  → 2 · |0.3775407 − 0.5| = 0.2449186
//   bin 5: 0.5 (out 1), 0.5 (out 0)       → 0
//   bin 6: 0.6224593 (out 0), 0.6224593 (out 1)  → 2 · 0.1224593 = 0.2449186
//   bin 7: 0.7310586 (out 1)              → 0.2689414
//   bin 8: 0.8175745 (out 1)              → 0.1824255
//   ECE = 1.3925710 / 10 = 0.1392571
test('accuracy is strict, ties are counted, ECE bins σ(Δ/T) in both orders (hand-computed)', () => {
  const m = pairMetrics([2, -1, 0, 3, 1], 2);
  assert.equal(m.pairs, 5);
  assert.equal(m.correct, 3);
  assert.equal(m.ties, 1);
  close(m.accuracy, 0.6, 'accuracy');
  close(m.meanMargin, 1, 'mean margin');
  close(m.ece, 0.1392571, 'ece');
});

test('per-subset metrics: alpha = Δ 2, −1, 0 and beta = Δ 3, 1 (hand-computed)', () => {
  const r = metricsBySubset(['alpha', 'alpha', 'alpha', 'beta', 'beta'], [2, -1, 0, 3, 1], 2);
  assert.deepEqual(Object.keys(r.subsets), ['alpha', 'beta']);
  const a = r.subsets.alpha!;
  const b = r.subsets.beta!;
  assert.deepEqual([a.pairs, a.correct, a.ties, b.pairs, b.correct, b.ties], [3, 1, 1, 2, 2, 0]);
  close(a.meanMargin, 1 / 3, 'alpha margin');
  close(b.meanMargin, 2, 'beta margin');
  // alpha: bins 2, 3, 5, 6, 7 → (0.2689414 + 0.6224593 + 0 + 0.6224593 + 0.2689414) / 6
  close(a.ece, 1.7828014 / 6, 'alpha ece');
  // beta: bins 1, 3, 6, 8 → (0.1824255 + 0.3775407 + 0.3775407 + 0.1824255) / 4
  close(b.ece, 1.1199324 / 4, 'beta ece');
  close(r.overall.ece, 0.1392571, 'overall ece');
});

test('a perfectly calibrated sure model has ECE 0; a sure wrong one has ECE 1', () => {
  assert.equal(pairMetrics([1e6, 1e6], 1).ece, 0);
  close(pairMetrics([-1e6], 1).ece, 1, 'sure and wrong');
  assert.equal(pairMetrics([-1e6], 1).accuracy, 0);
});
