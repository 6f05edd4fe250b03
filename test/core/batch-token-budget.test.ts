import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { readModelFolder } from '../../src/model/model-folder.js';
import { FIXTURES, filler, modelDir, recordingBackend, startApp } from '../helpers/app.js';

// A folder whose config.json names a 0.6B-wide MLP (the graph itself is the tiny fixture's):
// MAX_BATCH_TOKENS `auto` reads the width from config.json, whatever the graph computes.
const config = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'models', 'qwen3-rm', 'config.json'), 'utf8'));
const wide = () => modelDir({ from: 'qwen3-rm', files: { 'config.json': JSON.stringify({ ...config, intermediate_size: 3072 }) } });
const items = Array.from({ length: 8 }, (_, i) => ({ prompt: filler(i, 40), response: filler(100 + i, 60) }));

async function batchesOf(env: Record<string, string>) {
  const batches: number[][] = [];
  const t = await startApp({ INFER_WORKERS: '1', MAX_WAIT_MS: '50', ...env }, recordingBackend(batches));
  try {
    const models = (await t.app.inject({ method: 'GET', url: '/v1/models' })).json();
    batches.length = 0; // the warm-up's
    const res = await t.app.inject({ method: 'POST', url: '/score', payload: { items } });
    assert.equal(res.statusCode, 200);
    return { budget: models.data[0].batching.max_batch_tokens as number, batches, rewards: res.json().rewards as number[] };
  } finally {
    await t.close();
  }
}

test('MAX_BATCH_TOKENS auto cuts a wide model\'s batches under the malloc threshold (682 tokens at width 3072); a set value wins', async () => {
  const dir = wide();
  const auto = await batchesOf({ MODEL_DIR: dir });
  assert.equal(auto.budget, 682);
  assert.ok(auto.batches.length > 1, 'eight items of over 100 tokens take more than one batch');
  for (const b of auto.batches) assert.ok(b.length * Math.max(...b) <= 682, `batch of ${b.length} × ${Math.max(...b)} tokens`);
  const set = await batchesOf({ MODEL_DIR: dir, MAX_BATCH_TOKENS: '65536' });
  assert.equal(set.budget, 65536);
  assert.equal(set.batches.length, 1);
  // Batching never changes a reward.
  for (const [i, r] of auto.rewards.entries()) assert.ok(Math.abs(r - set.rewards[i]!) < 1e-5, `item ${i}: ${r} vs ${set.rewards[i]}`);
  const narrow = await batchesOf({ MODEL_DIR: path.join(FIXTURES, 'models', 'qwen3-rm') });
  assert.equal(narrow.budget, 2048);
});

test('the width comes from config.json, a nested text_config included; a value that is not a positive integer is ignored, not refused', () => {
  const width = (cfg: Record<string, unknown>) => readModelFolder(modelDir({ from: 'qwen3-rm', files: { 'config.json': JSON.stringify({ ...config, ...cfg }) } }), { maxLengthCap: 8192 }).activationWidth;
  assert.equal(width({}), 48);
  assert.equal(width({ hidden_size: undefined, intermediate_size: undefined, text_config: { hidden_size: 2560, intermediate_size: 10240 } }), 10240);
  assert.equal(width({ hidden_size: 'wide', intermediate_size: -3 }), null);
});
