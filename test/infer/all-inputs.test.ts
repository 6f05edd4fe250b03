// Inputs beyond input_ids and attention_mask, against torch: test/fixtures/models/all-inputs-served.json
// (models/build/served_inputs.py) holds transformers' tokenization of text pairs and the torch
// logits of all-inputs.onnx for them, with token types 0/1 and positions from 0. The script also
// checks that all token types 0, or positions from 1, move every logit by ten times the
// tolerance here, so a server building either would fail.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { FIXTURE_TEXTS, PARITY_TOL, parity } from '../helpers/parity.js';
import { FIXTURES, modelDir, post, startApp, twoHeadsDir } from '../helpers/app.js';

interface Served {
  min_gap_to_wrong_inputs: number;
  items: { prompt: string; response: string; input_ids: number[]; logit: number }[];
}
const served: Served = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'models', 'all-inputs-served.json'), 'utf8'));

test('a model declaring token_type_ids and position_ids gets them as torch expects, alone and padded', async () => {
  assert.ok(served.min_gap_to_wrong_inputs > 10 * PARITY_TOL, 'the reference tells right inputs from wrong ones');
  const dir = modelDir({ onnx: 'all-inputs.onnx', files: { 'reward.json': JSON.stringify({ name: 'all-inputs', input_format: 'pair' }) } });
  const t = await startApp({ MODEL_DIR: dir, MAX_WAIT_MS: '20' });
  try {
    const models = await t.app.inject({ url: '/v1/models' });
    assert.deepEqual(models.json().data[0].inputs, ['input_ids', 'attention_mask', 'token_type_ids', 'position_ids']);
    const items = served.items.map(({ prompt, response }) => ({ prompt, response }));
    const tokens = await post(t.app, '/tokenize', { items });
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    assert.deepEqual(tokens.body.items.map((i: { ids: number[] }) => i.ids), served.items.map((i) => i.input_ids), 'the ids transformers gives the pairs');

    const batched = await post(t.app, '/score', { items });
    const alone = await Promise.all(items.map((item) => post(t.app, '/score', { items: [item] })));
    served.items.forEach(({ logit }, i) => {
      assert.ok(Math.abs(batched.body.rewards[i] - logit) < PARITY_TOL, `batched item ${i}: ${batched.body.rewards[i]} vs torch ${logit}`);
      assert.ok(Math.abs(alone[i]!.body.rewards[0] - logit) < PARITY_TOL, `item ${i} alone: ${alone[i]!.body.rewards[0]} vs torch ${logit}`);
    });
  } finally {
    await t.close();
  }
});

test('a two-head model serves the head named by reward.json: that column of the torch logits', async () => {
  const ref = parity('parity.json', 'test/fixtures/models/two-heads.onnx');
  // Cases 1–3: texts under the default tokenizer's max_length, with heads that differ clearly.
  const cases = [1, 2, 3];
  for (const c of cases) assert.ok(Math.abs(ref.cases[c]!.logits[0]! - ref.cases[c]!.logits[1]!) > 100 * PARITY_TOL);
  for (const [head, name] of ['helpful', 'harmless'].entries()) {
    const t = await startApp({ MODEL_DIR: twoHeadsDir({ reward_head: name }) });
    try {
      const m = (await t.app.inject({ url: '/v1/models' })).json().data[0];
      assert.equal(m.reward_head, head);
      const s = await post(t.app, '/score', { items: cases.map((c) => ({ text: FIXTURE_TEXTS[c]! })) });
      cases.forEach((c, i) => {
        const want = ref.cases[c]!.logits[head]!;
        assert.ok(Math.abs(s.body.rewards[i] - want) < PARITY_TOL, `${name}, case ${c}: ${s.body.rewards[i]} vs torch ${want}`);
      });
    } finally {
      await t.close();
    }
  }
});
