import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectBatch } from '../../src/batch/select-batch.js';

const q = (...lengths: number[]) => lengths.map((length) => ({ length }));

test('the oldest item is always in the next batch, with the items nearest its length', () => {
  const picked = selectBatch(q(100, 10, 98, 500, 101, 12, 99), 4, 10_000);
  assert.equal(picked[0], 0);
  assert.deepEqual(picked.slice().sort(), [0, 2, 4, 6]);
});

test('batch size and batch tokens (size × longest) are both respected', () => {
  assert.equal(selectBatch(q(10, 10, 10, 10, 10), 3, 10_000).length, 3);
  const picked = selectBatch(q(100, 100, 100, 400, 100), 64, 350);
  assert.deepEqual(picked, [0, 1, 2]);
  // A longer item that would blow the budget is skipped, shorter ones still join.
  assert.deepEqual(selectBatch(q(100, 300, 90), 64, 250).sort(), [0, 2]);
  // The oldest goes alone even if it exceeds the budget by itself.
  assert.deepEqual(selectBatch(q(900, 10), 64, 500), [0]);
  assert.deepEqual(selectBatch([], 8, 100), []);
});

test('draining a mixed queue batch by batch keeps padding small and starves nothing', () => {
  let x = 7;
  const rand = () => ((x = (x * 1103515245 + 12345) >>> 0) % 480) + 32;
  let queue = Array.from({ length: 640 }, (_, i) => ({ length: rand(), id: i }));
  let real = 0;
  let computed = 0;
  let batches = 0;
  while (queue.length > 0) {
    const oldest = queue[0]!.id;
    const picked = selectBatch(queue, 64, 16384);
    assert.ok(picked.includes(0));
    const items = picked.map((i) => queue[i]!);
    assert.ok(items.some((it) => it.id === oldest));
    const longest = Math.max(...items.map((it) => it.length));
    real += items.reduce((a, it) => a + it.length, 0);
    computed += longest * items.length;
    queue = queue.filter((_, i) => !picked.includes(i));
    batches++;
  }
  const efficiency = real / computed;
  assert.ok(efficiency > 0.8, `padding efficiency ${efficiency.toFixed(3)} over ${batches} batches`);
});
