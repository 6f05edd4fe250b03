import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { batchTokenBudget, inferLayout } from '../../src/core/runtime.js';
import { MALLOC_MMAP_THRESHOLD } from '../../src/util/malloc-threshold.js';

const MiB = 2 ** 20;

test('a model under LARGE_MODEL_MB gets two single-thread sessions with the arena; a large one one session with every core, no arena and no spinning', () => {
  const config = loadConfig({});
  assert.equal(config.inferWorkers, 'auto');
  assert.deepEqual(inferLayout(config, 3 * MiB, 2), { workers: 2, intraOpThreads: 1, memArena: true, spinning: true });
  assert.deepEqual(inferLayout(config, 2384 * MiB, 2), { workers: 1, intraOpThreads: 2, memArena: false, spinning: false });
  assert.deepEqual(inferLayout(config, 255 * MiB, 16), { workers: 2, intraOpThreads: 8, memArena: true, spinning: true });
  assert.deepEqual(inferLayout(config, 256 * MiB, 16), { workers: 1, intraOpThreads: 16, memArena: false, spinning: false });
  assert.deepEqual(inferLayout(config, 3 * MiB, 1), { workers: 1, intraOpThreads: 1, memArena: true, spinning: true });
});

test('CUDA gets one session per device (one copy of the weights in GPU memory); explicit settings win', () => {
  assert.equal(inferLayout(loadConfig({ EXECUTION_PROVIDER: 'cuda' }), 3 * MiB, 16).workers, 1);
  const explicit = loadConfig({ INFER_WORKERS: '3', INTRA_OP_THREADS: '2', CPU_MEM_ARENA: 'on', LARGE_MODEL_MB: '1' });
  assert.deepEqual(inferLayout(explicit, 2384 * MiB, 16), { workers: 3, intraOpThreads: 2, memArena: true, spinning: false });
  assert.equal(inferLayout(loadConfig({ INTRA_OP_SPINNING: 'on' }), 2384 * MiB, 2).spinning, true);
  assert.equal(inferLayout(loadConfig({ INTRA_OP_SPINNING: 'off' }), 3 * MiB, 2).spinning, false);
  assert.deepEqual(inferLayout(loadConfig({ CPU_MEM_ARENA: 'off' }), 3 * MiB, 2).memArena, false);
  assert.throws(() => loadConfig({ INFER_WORKERS: 'many' }), /INFER_WORKERS/);
});

test('MAX_BATCH_TOKENS auto: 2048, or on CPU as many tokens as keep the widest activation under the malloc threshold', () => {
  const auto = loadConfig({});
  const threshold = Number(MALLOC_MMAP_THRESHOLD);
  // The default model and the 100 M bench shape are narrow enough for 2048; unknown width keeps it.
  assert.equal(batchTokenBudget(auto, { activationWidth: 512 }), 2048);
  assert.equal(batchTokenBudget(auto, { activationWidth: null }), 2048);
  // Qwen3-0.6B: intermediate_size 3072, 4 bytes per value.
  const qwen06 = batchTokenBudget(auto, { activationWidth: 3072 });
  assert.equal(qwen06, 682);
  assert.ok(qwen06 * 3072 * 4 < threshold && (qwen06 + 1) * 3072 * 4 >= threshold);
  // Llama-3.1-8B's MLP (14336): batches of one item of up to 146 tokens, never fewer than one token.
  assert.equal(batchTokenBudget(auto, { activationWidth: 14336 }), 146);
  assert.equal(batchTokenBudget(auto, { activationWidth: 1 << 30 }), 1);
  // CUDA has no malloc threshold to stay under; a set value wins everywhere.
  assert.equal(batchTokenBudget(loadConfig({ EXECUTION_PROVIDER: 'cuda' }), { activationWidth: 3072 }), 2048);
  assert.equal(batchTokenBudget(loadConfig({ MAX_BATCH_TOKENS: '4096' }), { activationWidth: 3072 }), 4096);
  assert.throws(() => loadConfig({ MAX_BATCH_TOKENS: 'big' }), /MAX_BATCH_TOKENS/);
});
