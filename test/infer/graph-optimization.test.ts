import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { filler, post, startApp } from '../helpers/app.js';

test('GRAPH_OPTIMIZATION accepts the four ORT levels, defaults to basic, refuses others', () => {
  assert.equal(loadConfig({}).graphOptimization, 'basic');
  assert.equal(loadConfig({ GRAPH_OPTIMIZATION: 'disabled' }).graphOptimization, 'disabled');
  assert.throws(() => loadConfig({ GRAPH_OPTIMIZATION: 'max' }), /GRAPH_OPTIMIZATION.*one of disabled, basic, extended, all/);
});

test('unoptimized and basic (default) sessions score the same items as the fully optimized one', async () => {
  const items = [
    { prompt: filler(11, 40), response: filler(12, 8) },
    { prompt: filler(13, 3), response: filler(14, 60) },
  ];
  const rewards: number[][] = [];
  for (const level of ['disabled', 'basic', 'all']) {
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
  for (const lower of rewards.slice(0, 2)) {
    lower.forEach((r, i) => assert.ok(Math.abs(r - rewards[2]![i]!) < 1e-4, `item ${i}: ${r} vs ${rewards[2]![i]}`));
  }
  assert.notEqual(rewards[2]![0], rewards[2]![1]);
});
