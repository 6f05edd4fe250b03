import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { filler, post, startApp } from '../helpers/app.js';

test('GRAPH_OPTIMIZATION accepts the four ORT levels, defaults to all, refuses others', () => {
  assert.equal(loadConfig({}).graphOptimization, 'all');
  assert.equal(loadConfig({ GRAPH_OPTIMIZATION: 'disabled' }).graphOptimization, 'disabled');
  assert.throws(() => loadConfig({ GRAPH_OPTIMIZATION: 'max' }), /GRAPH_OPTIMIZATION.*one of disabled, basic, extended, all/);
});

test('an unoptimized session scores the same items as the fully optimized one', async () => {
  const items = [
    { prompt: filler(11, 40), response: filler(12, 8) },
    { prompt: filler(13, 3), response: filler(14, 60) },
  ];
  const rewards: number[][] = [];
  for (const level of ['disabled', 'all']) {
    const t = await startApp({ GRAPH_OPTIMIZATION: level });
    try {
      const r = await post(t.app, '/score', { items });
      assert.equal(r.status, 200);
      rewards.push(r.body.rewards);
    } finally {
      await t.close();
    }
  }
  // Fusions reorder float arithmetic: equal to rounding, not bit for bit.
  rewards[0]!.forEach((r, i) => assert.ok(Math.abs(r - rewards[1]![i]!) < 1e-4, `item ${i}: ${r} vs ${rewards[1]![i]}`));
  assert.notEqual(rewards[1]![0], rewards[1]![1]);
});
