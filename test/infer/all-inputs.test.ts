import assert from 'node:assert/strict';
import { test } from 'node:test';
import { filler, modelDir, post, startApp, twoHeadsDir } from '../helpers/app.js';

test('a model declaring token_type_ids and position_ids gets them built, padding-invariant', async () => {
  const t = await startApp({ MODEL_DIR: modelDir({ onnx: 'all-inputs.onnx' }) });
  try {
    const models = await t.app.inject({ url: '/v1/models' });
    assert.deepEqual(models.json().data[0].inputs, ['input_ids', 'attention_mask', 'token_type_ids', 'position_ids']);
    const short = { prompt: filler(1, 5), response: 'yes' };
    const alone = await post(t.app, '/score', { items: [short] });
    const mixed = await post(t.app, '/score', { items: [{ prompt: filler(2, 300), response: 'no' }, short] });
    assert.ok(Math.abs(alone.body.rewards[0] - mixed.body.rewards[1]) <= 1e-5);
  } finally {
    await t.close();
  }
});

test('a two-head model serves the head named by reward.json', async () => {
  const item = { prompt: filler(3, 20), response: 'sure' };
  const rewards: number[] = [];
  for (const head of [0, 1]) {
    const dir = twoHeadsDir({ reward_head: head === 0 ? 'helpful' : 'harmless' });
    const t = await startApp({ MODEL_DIR: dir });
    try {
      const m = (await t.app.inject({ url: '/v1/models' })).json().data[0];
      assert.deepEqual(m.outputs.map((o: { name: string }) => o.name), ['helpful', 'harmless']);
      assert.equal(m.reward_head, head);
      rewards.push((await post(t.app, '/score', { items: [item] })).body.rewards[0]);
    } finally {
      await t.close();
    }
  }
  assert.notEqual(rewards[0], rewards[1]);
});
