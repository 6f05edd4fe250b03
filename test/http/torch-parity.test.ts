// The served models against torch: the logits committed in models/build/parity-default.json
// (models/default, written by train_model.py) and models/build/parity.json (the small graphs,
// written by export_model.py) came from a torch forward of each sequence alone. Here the same
// sequences go through the whole service (HTTP, batcher, padding, ORT workers, postprocessing)
// and must come back within check-parity.mjs's tolerance.
//
// Of parity.json's graphs only two-heads.onnx can be compared through the service: all-inputs'
// cases feed token_type_ids cut mid-sequence and shifted position_ids that the service never
// builds (test/infer/all-inputs.test.ts has its own reference), and unknown-input / bad-output
// are refused at startup (startup-errors.test.ts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_MODEL, DEFAULT_NAME, modelDir, post, startApp, type TestApp } from '../helpers/app.js';
import { DEFAULT_TEXTS, FIXTURE_TEXTS, PARITY_TOL, parity } from '../helpers/parity.js';

// Two-heads' cases run to 512 tokens (its position table); the default tokenizer_config caps at 192.
const tokenizerConfig = JSON.parse(fs.readFileSync(path.join(DEFAULT_MODEL, 'tokenizer_config.json'), 'utf8'));
const TWO_HEADS = modelDir({
  onnx: 'two-heads.onnx',
  files: {
    'config.json': JSON.stringify({ id2label: { 0: 'helpful', 1: 'harmless' } }),
    'reward.json': JSON.stringify({ name: 'two-heads' }),
    'tokenizer_config.json': JSON.stringify({ ...tokenizerConfig, model_max_length: 512 }),
  },
});

/** `heads`: the logit columns by config.json id2label, as /score names them. */
const MODELS = [
  { name: DEFAULT_NAME, ref: parity('parity-default.json', 'models/default/model.onnx'), texts: DEFAULT_TEXTS, heads: null },
  { name: 'two-heads', ref: parity('parity.json', 'test/fixtures/models/two-heads.onnx'), texts: FIXTURE_TEXTS, heads: ['helpful', 'harmless'] },
];

let t: TestApp;
before(async () => {
  // A budget that fits every case at once: one right-padded batch of all lengths.
  t = await startApp({ MODELS: `${DEFAULT_MODEL},${TWO_HEADS}`, INFER_WORKERS: '1', MAX_BATCH_TOKENS: '16384', MAX_WAIT_MS: '20' });
});
after(() => t.close());

/** Largest |served − torch| over every logit of every case; a missing row or head is Infinity. */
function maxDelta(got: number[][], want: number[][]): number {
  if (got.length !== want.length) return Infinity;
  let m = 0;
  want.forEach((w, i) => {
    const g = got[i]!;
    if (g.length !== w.length) m = Infinity;
    w.forEach((x, j) => (m = Math.max(m, Math.abs(g[j]! - x))));
  });
  return m;
}

/** Raw logits (vLLM /classify with the activation off), one row per list of token ids, sent as they are. */
async function classify(model: string, input: number[][]): Promise<number[][]> {
  // No truncate_prompt_tokens: a case longer than the model's max_length is refused, not cut.
  const r = await post(t.app, '/classify', { model, input, use_activation: false });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.data.length, input.length);
  return r.body.data.map((d: { probs: number[] }) => d.probs);
}

for (const { name, ref, texts, heads } of MODELS) {
  describe(`${name}: served logits equal the committed torch logits`, () => {
    const want = ref.cases.map((c) => c.logits.flat());

    test('the reference covers what this test assumes', () => {
      assert.deepEqual([ref.per_token, ref.inputs], [false, ['input_ids', 'attention_mask']]);
      assert.ok(ref.cases.length >= 6);
      assert.ok(want.every((w) => w.length === ref.num_labels));
    });

    test('token ids: all cases in one padded batch, and each alone', async () => {
      const ids = ref.cases.map((c) => c.input_ids);
      assert.ok(new Set(ids.map((x) => x.length)).size >= 4, 'lengths differ, so most rows are padded');
      const batched = maxDelta(await classify(name, ids), want);
      assert.ok(batched < PARITY_TOL, `batched: max |served − torch| ${batched}`);
      const alone = (await Promise.all(ids.map((x) => classify(name, [x])))).map((rows) => rows[0]!);
      const d = maxDelta(alone, want);
      assert.ok(d < PARITY_TOL, `alone: max |served − torch| ${d}`);
    });

    test('texts through /score: tokenized and truncated by the service, then scored', async () => {
      const s = await post(t.app, '/score', { model: name, items: texts.map((text) => ({ text })) });
      assert.equal(s.status, 200, JSON.stringify(s.body));
      assert.equal(s.body.rewards.length, texts.length);
      // Without normalize a one-head model's reward is its logit; a multi-head model also lists each head.
      const rows = texts.map((_, i) => (heads ? heads.map((h) => s.body.heads[h][i] as number) : [s.body.rewards[i] as number]));
      const d = maxDelta(rows, want.slice(-texts.length));
      assert.ok(d < PARITY_TOL, `max |served − torch| ${d}`);
    });
  });
}
