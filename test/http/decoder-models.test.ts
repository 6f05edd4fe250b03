// Decoder-only reward models as optimum exports them (pooling at the last non-pad token inside
// the graph, no reward.json): served rewards must equal a torch forward of the same weights on
// one unpadded item whose ids come from Python Jinja2's rendering (models/build/decoder-rm).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ScoreItem } from '../../src/format/format.js';
import { FIXTURES, post, startApp, type TestApp } from '../helpers/app.js';

interface Case {
  text: string;
  ids: number[];
  reward: number;
}
const reference: { models: Record<string, { folder: string; cases: Record<string, Case> }> } = JSON.parse(
  fs.readFileSync(path.join(FIXTURES, 'decoder-rm', 'reference.json'), 'utf8'),
);
const conversations: { conversations: (ScoreItem & { id: string })[] } = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'decoder-rm', 'conversations.json'), 'utf8'));
const items = conversations.conversations.map(({ id, ...item }) => ({ id, item: item as ScoreItem }));
// The checks below go item by item: with no items they would check nothing.
assert.ok(items.length >= 4, `only ${items.length} conversations`);

/** Tolerance against the torch reference: fp32 graphs 1e-4, the fp16 graph 1e-2 (the bounds). */
const MODELS = [
  { name: 'qwen3-rm', tolerance: 1e-4 },
  { name: 'qwen3-rm-fp16', tolerance: 1e-2 },
  { name: 'llama31-rm', tolerance: 1e-4 },
];

for (const { name, tolerance } of MODELS) {
  describe(`${name}: served rewards equal the torch reference`, () => {
    let t: TestApp;
    const cases = reference.models[name]!.cases;
    const expected = items.map(({ id }) => cases[id]!.reward);
    assert.ok(expected.every((x) => typeof x === 'number'), `${name}: a conversation has no reference reward`);
    before(async () => {
      // A large token budget puts all items in one batch: every item but the longest is padded.
      t = await startApp({ MODEL_DIR: path.join(FIXTURES, 'models', name), INFER_WORKERS: '1', MAX_BATCH_TOKENS: '65536', MAX_WAIT_MS: '50' });
    });
    after(() => t.close());

    test('each item alone', async () => {
      for (const [i, { id, item }] of items.entries()) {
        const r = await post(t.app, '/score', { items: [item] });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.ok(Math.abs(r.body.rewards[0] - expected[i]!) <= tolerance, `${id}: ${r.body.rewards[0]} vs ${expected[i]}`);
      }
    });

    test('all items in one right-padded batch, and in concurrent one-item requests', async () => {
      const r = await post(t.app, '/score', { items: items.map((x) => x.item) });
      assert.equal(r.status, 200);
      // One reward per item: a short (or empty) reply must not pass by checking fewer.
      assert.equal(r.body.rewards.length, items.length);
      r.body.rewards.forEach((got: number, i: number) => assert.ok(Math.abs(got - expected[i]!) <= tolerance, `${items[i]!.id}: ${got} vs ${expected[i]}`));
      const each = await Promise.all(items.map((x) => post(t.app, '/score', { items: [x.item] })));
      each.forEach((e) => assert.deepEqual([e.status, e.body.rewards.length], [200, 1]));
      each.forEach((e, i) => assert.ok(Math.abs(e.body.rewards[0] - expected[i]!) <= tolerance, `${items[i]!.id} concurrent`));
    });

    test('/tokenize shows the Python Jinja2 rendering and its ids', async () => {
      const r = await post(t.app, '/tokenize', { items: items.map((x) => x.item) });
      assert.equal(r.status, 200);
      assert.equal(r.body.items.length, items.length);
      r.body.items.forEach((got: { text: string; ids: number[]; tokens: string[]; truncated: boolean }, i: number) => {
        const want = cases[items[i]!.id]!;
        assert.equal(got.text, want.text, `${items[i]!.id} text`);
        assert.deepEqual(got.ids, want.ids, `${items[i]!.id} ids`);
        assert.equal(got.tokens.length, got.ids.length);
        assert.equal(got.truncated, false);
      });
    });
  });
}

test('llama31-rm: max_length from config.json positions (model_max_length is 1e30), capped by MAX_LENGTH_CAP; fp16 output reported', async () => {
  const t = await startApp({ MODELS: ['llama31-rm', 'qwen3-rm-fp16'].map((m) => path.join(FIXTURES, 'models', m)).join(','), INFER_WORKERS: '1', MAX_LENGTH_CAP: '4096' });
  try {
    const res = await t.app.inject({ url: '/v1/models' });
    const [llama, qwen] = res.json().data;
    assert.equal(llama.max_length, 4096);
    assert.equal(llama.sources.max_length, 'server setting MAX_LENGTH_CAP (below config.json max_position_embeddings 131072)');
    assert.equal(llama.input_format, 'chat');
    assert.equal(llama.sources.input_format, 'tokenizer_config.json chat_template');
    assert.deepEqual([llama.pad_token_id, llama.sources.pad_token_id], [128004, 'config.json pad_token_id']);
    assert.equal(llama.output_type, 'float32');
    assert.equal(qwen.output_type, 'float16');
    assert.equal(qwen.sources.max_length, 'server setting MAX_LENGTH_CAP (below tokenizer_config.json model_max_length 131072)');
  } finally {
    await t.close();
  }
});

test('an item longer than MAX_BATCH_TOKENS still runs, alone, with the right reward', async () => {
  const t = await startApp({ MODEL_DIR: path.join(FIXTURES, 'models', 'qwen3-rm'), INFER_WORKERS: '1', MAX_BATCH_TOKENS: '64' });
  try {
    const cases = reference.models['qwen3-rm']!.cases;
    const long = items.filter(({ id }) => cases[id]!.ids.length > 64);
    assert.ok(long.length >= 2);
    const r = await post(t.app, '/score', { items: long.map((x) => x.item) });
    assert.equal(r.status, 200);
    assert.equal(r.body.rewards.length, long.length);
    r.body.rewards.forEach((got: number, i: number) => assert.ok(Math.abs(got - cases[long[i]!.id]!.reward) <= 1e-4));
  } finally {
    await t.close();
  }
});
