import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectBatch, type SelectLimits } from '../../src/batch/select-batch.js';

/** Items queued at the given times (default 0). */
const q = (lengths: number[], at: number[] = []) => lengths.map((length, i) => ({ length, enqueuedAt: at[i] ?? 0 }));
const limits = (maxItems: number, maxTokens: number, deadlineMs = 1000, minEfficiency = 0): SelectLimits => ({ maxItems, maxTokens, deadlineMs, minEfficiency });
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

test('with no item overdue, the full batch with the least padding goes first', () => {
  const queue = q([100, 10, 98, 500, 101, 12, 99, 11, 13]);
  assert.deepEqual(sorted(selectBatch(queue, limits(4, 100_000), 0)), [0, 2, 4, 6]);
});

test('an overdue oldest item goes now, with the items nearest its length', () => {
  const queue = q([500, 10, 11, 12, 13, 480, 20], [0, 5, 5, 5, 5, 5, 5]);
  const picked = selectBatch(queue, limits(3, 100_000, 1000), 1000);
  assert.deepEqual(sorted(picked), [0, 5, 6]);
  // Not yet overdue: the tight group of short items wins instead.
  assert.deepEqual(sorted(selectBatch(queue, limits(3, 100_000, 1000), 999)), [2, 3, 4]);
});

test('a queue smaller than one batch goes whole; limits on items and tokens always hold', () => {
  assert.deepEqual(sorted(selectBatch(q([30, 200, 40]), limits(64, 100_000), 0)), [0, 1, 2]);
  assert.equal(selectBatch(q([10, 10, 10, 10, 10]), limits(3, 100_000), 0).length, 3);
  // Budget 350 tokens: three items of 100 fit, a fourth or the 400-token item would not.
  const picked = selectBatch(q([100, 100, 100, 400, 100]), limits(64, 350), 0);
  assert.equal(picked.length, 3);
  assert.ok(!picked.includes(3));
  // The oldest, overdue, goes alone if even it exceeds the budget by itself.
  assert.deepEqual(selectBatch(q([900, 10]), limits(64, 500), 5000), [0]);
  assert.deepEqual(selectBatch([], limits(8, 100), 0), []);
});

test('with an efficiency floor, a short queue goes as a batch of like lengths and the outliers wait', () => {
  // Oldest 100; 98 and 101 keep the batch above 0.9 real/computed tokens, 30 and 200 would not.
  const queue = q([100, 30, 98, 200, 101]);
  assert.deepEqual(sorted(selectBatch(queue, limits(64, 100_000, 1000, 0.9), 0)), [0, 2, 4]);
  assert.deepEqual(sorted(selectBatch(queue, limits(64, 100_000, 1000, 0), 0)), [0, 1, 2, 3, 4], 'no floor: the whole queue');
  // The oldest always goes, even when nothing else fits beside it.
  assert.deepEqual(selectBatch(q([500, 10, 12]), limits(64, 100_000, 1000, 0.9), 0), [0]);
  // The best full batch ([20, 30]: 0.83) is below the floor: the oldest goes with what fits it.
  const full = q([100, 20, 60, 30]);
  assert.deepEqual(sorted(selectBatch(full, limits(2, 100_000, 1000, 0), 0)), [1, 3]);
  assert.deepEqual(selectBatch(full, limits(2, 100_000, 1000, 0.9), 0), [0]);
  for (let seed = 1; seed < 200; seed++) {
    let x = seed;
    const lengths = Array.from({ length: 1 + (seed % 13) }, () => ((x = (x * 1103515245 + 12345) >>> 0) % 300) + 8);
    const picked = selectBatch(q(lengths), limits(64, 2048, 1000, 0.9), 0);
    const real = picked.reduce((a, i) => a + lengths[i]!, 0);
    const computed = picked.length * Math.max(...picked.map((i) => lengths[i]!));
    assert.ok(picked.length === 1 || real >= 0.9 * computed, `seed ${seed}: ${real}/${computed}`);
    assert.ok(picked.length >= 1 && computed <= Math.max(2048, lengths[picked[0]!]!));
  }
});

test('simulated saturation: padding stays small and no item waits much past its deadline', (t) => {
  let x = 7;
  const rand = () => ((x = (x * 1103515245 + 12345) >>> 0) % 480) + 32;
  const lim = limits(64, 16384, 2000);
  const tokensPerMs = 100; // model speed: computed tokens per millisecond
  let queue: { length: number; enqueuedAt: number }[] = [];
  let now = 0;
  let arrived = 0;
  let real = 0;
  let computed = 0;
  let maxWait = 0;
  let longestBatchMs = 0;
  // Requests of 64 items arrive at ~95% of capacity; 50 ms of arrivals per step.
  const perMs = (0.95 * tokensPerMs) / 272; // mean item length 272 → items per ms
  while (arrived < 20_000 || queue.length > 0) {
    while (arrived < 20_000 && arrived < perMs * now) {
      for (let k = 0; k < 64; k++) queue.push({ length: rand(), enqueuedAt: now });
      arrived += 64;
    }
    if (queue.length === 0) {
      now += 1;
      continue;
    }
    const picked = selectBatch(queue, lim, now);
    const items = picked.map((i) => queue[i]!);
    const longest = Math.max(...items.map((it) => it.length));
    assert.ok(items.length <= 64 && (items.length * longest <= 16384 || items.length === 1));
    for (const it of items) maxWait = Math.max(maxWait, now - it.enqueuedAt);
    real += items.reduce((a, it) => a + it.length, 0);
    computed += longest * items.length;
    const set = new Set(picked);
    queue = queue.filter((_, i) => !set.has(i));
    const ms = (longest * items.length) / tokensPerMs;
    longestBatchMs = Math.max(longestBatchMs, ms);
    now += ms;
  }
  const efficiency = real / computed;
  t.diagnostic(`simulated: efficiency ${efficiency.toFixed(3)}, max wait ${maxWait.toFixed(0)} ms, longest batch ${longestBatchMs.toFixed(0)} ms`);
  assert.ok(efficiency > 0.9, `padding efficiency ${efficiency.toFixed(3)}`);
  assert.ok(maxWait <= lim.deadlineMs + 4 * longestBatchMs, `max wait ${maxWait.toFixed(0)} ms`);
});
