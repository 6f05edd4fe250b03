// Prefix reuse against transformers: a Qwen3 reward model imported with --prefix-graphs
// (models/build/prefix-rm/build.py), its references from transformers' own apply_chat_template
// and forward of each whole item alone. With reuse on, every reward must equal the reference
// within 1e-4, and the metrics must show the prefixes were reused (else this tests nothing).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ScoreItem } from '../../src/format/format.js';
import type { OrtBackend } from '../../src/infer/ort-backend.js';
import { FIXTURES, filler, modelDir, post, startApp, type TestApp } from '../helpers/app.js';

interface Row {
  item: ScoreItem & { messages: { role: string; content: string }[] };
  /** Tokens of the whole item; `ids` are its last max_length, `whole_ids` all of them when it is longer. */
  tokens: number;
  ids: number[];
  whole_ids?: number[];
  reward: number;
}
const reference: { max_length: number; cases: Record<string, Row[]> } = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'prefix-reuse', 'reference.json'), 'utf8'));
const MODEL_DIR = path.join(FIXTURES, 'models', 'qwen3-rm-prefix');
const TOLERANCE = 1e-4;
const cases = reference.cases;
const all = Object.values(cases).flat();
// Long shared prompts, as the loads: the test below depends on it.
assert.ok(cases.grpo!.length === 8 && cases.grpo!.every((r) => r.tokens > 300));
assert.ok(cases.truncated!.every((r) => r.tokens > reference.max_length));

const SETTINGS = { MODEL_DIR, INFER_WORKERS: '1', MAX_BATCH_TOKENS: '65536', MAX_WAIT_MS: '50', PREFIX_MIN_TOKENS: '64' };

/** A counter or gauge of /metrics, summed over its series with `labels`. */
async function metric(t: TestApp, name: string, labels = ''): Promise<number> {
  const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name) && line.includes(labels)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

function assertClose(got: number[], rows: Row[], what: string): void {
  assert.equal(got.length, rows.length);
  got.forEach((r, i) => assert.ok(Math.abs(r - rows[i]!.reward) <= TOLERANCE, `${what} item ${i}: ${r} vs transformers ${rows[i]!.reward}`));
}

describe('prefix reuse: rewards equal transformers on the whole items', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp(SETTINGS);
  });
  after(() => t.close());

  test('every case in one batch: groups, mid-turn prefixes, diverging ids, truncated items', async () => {
    const r = await post(t.app, '/score', { items: all.filter((x) => x.tokens <= reference.max_length).map((x) => x.item) });
    assert.equal(r.status, 200);
    assertClose(r.body.rewards, all.filter((x) => x.tokens <= reference.max_length), 'batch');
    assert.ok((await metric(t, 'reward_prefix_reused_tokens_total')) > 7 * 300, 'the GRPO group reused its prompt');
  });

  test('a GRPO group as one-item requests, one after another: the later ones hit the held prefix', async () => {
    const hits = await metric(t, 'reward_prefix_cache_lookups_total', 'result="hit"');
    const rewards: number[] = [];
    for (const row of cases.grpo!) rewards.push((await post(t.app, '/score', { items: [row.item] })).body.rewards[0]);
    assertClose(rewards, cases.grpo!, 'one-item');
    assert.ok((await metric(t, 'reward_prefix_cache_lookups_total', 'result="hit"')) - hits >= 7);
  });

  test('/rank of the group\'s responses', async () => {
    const rows = cases.grpo!;
    const prompt = rows[0]!.item.messages.slice(0, -1);
    const r = await post(t.app, '/rank', { messages: prompt, responses: rows.map((x) => x.item.messages.at(-1)!.content) });
    assert.equal(r.status, 200);
    assertClose(r.body.rewards, rows, '/rank');
  });

  test('items cut from the left (ids longer than max_length) with their group', async () => {
    const rows = [...cases.truncated!, ...cases.grpo!.slice(0, 2)];
    const r = await post(t.app, '/classify', { input: rows.map((x) => x.whole_ids ?? x.ids), use_activation: false, truncate_prompt_tokens: reference.max_length });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assertClose(r.body.data.map((d: { probs: number[] }) => d.probs[0]), rows, '/classify');
  });
});

describe('prefix reuse: a held prefix longer than what the next rows share', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp(SETTINGS);
  });
  after(() => t.close());

  test('is cut to what they share (the mid-turn group holds the prompt and a shared sentence; the GRPO rows share only the prompt)', async () => {
    const mid = cases['mid-turn']!;
    assertClose((await post(t.app, '/score', { items: mid.map((x) => x.item) })).body.rewards, mid, 'mid-turn');
    const hits = await metric(t, 'reward_prefix_cache_lookups_total', 'result="hit"');
    const grpo = cases.grpo!;
    assertClose((await post(t.app, '/score', { items: grpo.map((x) => x.item) })).body.rewards, grpo, 'grpo');
    assert.equal((await metric(t, 'reward_prefix_cache_lookups_total', 'result="hit"')) - hits, grpo.length);
  });
});

describe('prefix reuse: a bounded cache', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ ...SETTINGS, PREFIX_CACHE_MB: '1' });
  });
  after(() => t.close());

  test('distinct prompts evict the group\'s prefix; it is run again, exact, and the cache stays within its bound', async () => {
    const grpo = cases.grpo!;
    assertClose((await post(t.app, '/score', { items: grpo.map((x) => x.item) })).body.rewards, grpo, 'first');
    // Pairs of items on distinct long prompts: each pair holds a new prefix of ~600 tokens.
    for (let k = 0; k < 16; k++) {
      const prompt = filler(1000 + k, 700);
      const r = await post(t.app, '/score', { items: [{ prompt, response: 'One.' }, { prompt, response: 'Two.' }] });
      assert.equal(r.status, 200);
      assert.ok((await metric(t, 'reward_prefix_cache_bytes')) <= 2 ** 20);
    }
    assert.ok((await metric(t, 'reward_prefix_cache_evictions_total')) > 0);
    const lookups = async () => [await metric(t, 'reward_prefix_cache_lookups_total', 'result="hit"'), await metric(t, 'reward_prefix_cache_lookups_total', 'result="miss"')];
    const [hits, misses] = await lookups();
    assertClose((await post(t.app, '/score', { items: grpo.map((x) => x.item) })).body.rewards, grpo, 'after eviction');
    const [hitsAfter, missesAfter] = await lookups();
    // Held, all 8 would hit. Its first batch misses and runs the prefix again (a later batch of the request may hit that).
    assert.equal(hitsAfter! - hits! + missesAfter! - misses!, grpo.length);
    assert.ok(missesAfter! - misses! >= 1, 'the evicted prefix was run again');
  });
});

describe('a dead worker\'s prefixes', () => {
  test('leave reward_prefix_cache_bytes with it; its replacement starts empty and runs the prefix again', async () => {
    const t = await startApp(SETTINGS);
    try {
      const grpo = cases.grpo!;
      assertClose((await post(t.app, '/score', { items: grpo.map((x) => x.item) })).body.rewards, grpo, 'before');
      assert.ok((await metric(t, 'reward_prefix_cache_bytes')) > 0);
      const backend = t.runtime.backend as OrtBackend;
      await backend.crashWorker(0);
      while (!backend.healthy) await new Promise((r) => setTimeout(r, 20));
      assert.equal(await metric(t, 'reward_prefix_cache_bytes'), 0);
      const misses = await metric(t, 'reward_prefix_cache_lookups_total', 'result="miss"');
      assertClose((await post(t.app, '/score', { items: grpo.map((x) => x.item) })).body.rewards, grpo, 'after');
      assert.ok((await metric(t, 'reward_prefix_cache_lookups_total', 'result="miss"')) > misses, 'the prefix was run again');
      assert.ok((await metric(t, 'reward_prefix_cache_bytes')) > 0);
    } finally {
      await t.close();
    }
  });
});

describe('PREFIX_REUSE=off', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ ...SETTINGS, PREFIX_REUSE: 'off' });
  });
  after(() => t.close());

  test('the same rewards, and no prefix reused', async () => {
    const rows = all.filter((x) => x.tokens <= reference.max_length);
    assertClose((await post(t.app, '/score', { items: rows.map((x) => x.item) })).body.rewards, rows, 'off');
    assert.equal(await metric(t, 'reward_prefix_cache_lookups_total'), 0);
  });
});

// With reuse on, a worker's only session is continue.onnx: it also scores the rows that share no
// prefix, from an empty past, so the weights are held once. Proven by a folder whose model.onnx
// cannot be opened at all.
describe('prefix reuse holds one session: continue.onnx scores every row', () => {
  const dir = modelDir({ from: 'qwen3-rm-prefix', onnx: Buffer.from('not an ONNX graph') });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('served exactly without model.onnx, which reuse off cannot load', async () => {
    const t = await startApp({ ...SETTINGS, MODEL_DIR: dir });
    try {
      // A lone first row shares nothing held or recent: it runs whole, from an empty past.
      const first = cases.grpo![0]!;
      assertClose((await post(t.app, '/score', { items: [first.item] })).body.rewards, [first], 'whole row');
      assert.equal(await metric(t, 'reward_prefix_reused_tokens_total'), 0);
      const rows = all.filter((x) => x.tokens <= reference.max_length);
      assertClose((await post(t.app, '/score', { items: rows.map((x) => x.item) })).body.rewards, rows, 'batch');
      assert.ok((await metric(t, 'reward_prefix_reused_tokens_total')) > 7 * 300, 'the GRPO group reused its prompt');
    } finally {
      await t.close();
    }
    await assert.rejects(startApp({ ...SETTINGS, MODEL_DIR: dir, PREFIX_REUSE: 'off' }), /cannot load ONNX model/);
  });
});

// The same checkpoint imported with --dtype fp16 (build.py imports both): continue.onnx returns
// float16 keys and values, which the worker holds and feeds back as they came.
describe('prefix reuse in fp16: within 1e-2 of transformers, and equal to the model without reuse', () => {
  const FP16 = { ...SETTINGS, MODEL_DIR: path.join(FIXTURES, 'models', 'qwen3-rm-prefix-fp16') };
  const rows = all.filter((x) => x.tokens <= reference.max_length);
  const FP16_TOLERANCE = 1e-2;

  async function rewardsWith(reuse: 'auto' | 'off'): Promise<{ batch: number[]; oneItem: number[]; reused: number; hits: number }> {
    const t = await startApp({ ...FP16, PREFIX_REUSE: reuse });
    try {
      const r = await post(t.app, '/score', { items: rows.map((x) => x.item) });
      assert.equal(r.status, 200);
      const oneItem: number[] = [];
      for (const row of cases.grpo!) oneItem.push((await post(t.app, '/score', { items: [row.item] })).body.rewards[0]);
      return { batch: r.body.rewards, oneItem, reused: await metric(t, 'reward_prefix_reused_tokens_total'), hits: await metric(t, 'reward_prefix_cache_lookups_total', 'result="hit"') };
    } finally {
      await t.close();
    }
  }

  test('one batch of every case and a GRPO group as one-item requests', async () => {
    const on = await rewardsWith('auto');
    const off = await rewardsWith('off');
    assert.ok(on.reused > 7 * 300 && on.hits >= 7, `prefixes reused: ${on.reused} positions, ${on.hits} hits`);
    assert.equal(off.reused, 0);
    const close = (got: number[], want: number[], what: string) =>
      got.forEach((r, i) => assert.ok(Math.abs(r - want[i]!) <= FP16_TOLERANCE, `${what} item ${i}: ${r} vs ${want[i]}`));
    close(on.batch, rows.map((x) => x.reward), 'fp16 with reuse vs transformers fp32');
    close(on.oneItem, cases.grpo!.map((x) => x.reward), 'fp16 one-item with reuse vs transformers fp32');
    close(on.batch, off.batch, 'fp16 with reuse vs without');
    close(on.oneItem, off.oneItem, 'fp16 one-item with reuse vs without');
  });
});
