// Process reward models (step rewards at step tags, token rewards on request) and a
// multi-objective model, served against the torch references of models/build/prm: within 1e-5,
// alone and in right-padded batches with longer items.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FIXTURES, modelDir, post, startApp, type TestApp } from '../helpers/app.js';

interface StepCase {
  text: string;
  ids: number[];
  truncated: boolean;
  token_rewards: number[];
  step_rewards: number[];
  steps: number;
  aggregates: Record<string, number>;
}
interface ArmoCase {
  text: string;
  rewards: number[];
  score: number;
}
const reference = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'prm', 'reference.json'), 'utf8'));
const items: { id: string; prompt: string; steps: string[] }[] = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'prm', 'items.json'), 'utf8')).items;
const fitting = items.filter((it) => it.id !== 'long');
const TOL = 1e-5;
const near = (got: number, want: number, what: string) => assert.ok(Math.abs(got - want) <= TOL, `${what}: ${got} vs ${want}`);
const fixture = (name: string) => path.join(FIXTURES, 'models', name);

for (const name of ['prm-2label', 'prm-shepherd']) {
  describe(`${name}: step and token rewards equal the torch reference`, () => {
    let t: TestApp;
    const cases: Record<string, StepCase> = reference.models[name].cases;
    const steps = (id: string, got: (number | null)[]) => cases[id]!.step_rewards.forEach((want, j) => near(got[j]!, want, `${id} step ${j}`));
    before(async () => {
      t = await startApp({ MODEL_DIR: fixture(name), INFER_WORKERS: '1', MAX_BATCH_TOKENS: '65536', MAX_WAIT_MS: '50' });
    });
    after(() => t.close());

    test('each {prompt, steps} item alone: step rewards, their minimum as the reward, none dropped', async () => {
      for (const it of fitting) {
        const r = await post(t.app, '/score', { items: [{ prompt: it.prompt, steps: it.steps }] });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.step_rewards[0].length, it.steps.length);
        steps(it.id, r.body.step_rewards[0]);
        near(r.body.rewards[0], cases[it.id]!.aggregates.min!, `${it.id} reward`);
        assert.deepEqual([r.body.truncated[0], r.body.dropped_steps[0]], [false, 0]);
      }
    });

    test('one right-padded batch, concurrent requests, and the same text sent already tagged', async () => {
      const r = await post(t.app, '/score', { items: fitting.map((it) => ({ prompt: it.prompt, steps: it.steps })) });
      assert.equal(r.status, 200);
      fitting.forEach((it, i) => steps(it.id, r.body.step_rewards[i]));
      const each = await Promise.all(fitting.map((it) => post(t.app, '/score', { items: [{ text: cases[it.id]!.text }] })));
      each.forEach((e, i) => {
        assert.equal(e.status, 200);
        steps(fitting[i]!.id, e.body.step_rewards[0]);
      });
    });

    test('a request cut into several tokenizer slices keeps every item\'s step rewards', async () => {
      // 70 items: more than one slice (64 items), joined back in order with their step counts.
      const many = Array.from({ length: 70 }, (_, k) => fitting[k % fitting.length]!);
      const r = await post(t.app, '/score', { items: many.map((it) => ({ prompt: it.prompt, steps: it.steps })) });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      many.forEach((it, i) => steps(it.id, r.body.step_rewards[i]));
    });

    test('token rewards on request: every response token, with its string, alone and batched', async () => {
      const one = fitting[2]!;
      const alone = await post(t.app, '/score', { return_token_rewards: true, items: [{ prompt: one.prompt, steps: one.steps }] });
      assert.equal(alone.status, 200, JSON.stringify(alone.body));
      const batched = await post(t.app, '/score', { return_token_rewards: true, items: fitting.map((it) => ({ prompt: it.prompt, steps: it.steps })) });
      fitting.forEach((it, i) => {
        const tr = batched.body.token_rewards[i];
        const want = cases[it.id]!.token_rewards;
        assert.equal(tr.tokens.length, tr.rewards.length);
        assert.ok(tr.tokens.length > it.steps.length && tr.tokens.length < want.length, `${it.id}: ${tr.tokens.length} response tokens of ${want.length}`);
        // The response is the item's tail.
        tr.rewards.forEach((got: number, p: number) => near(got, want[want.length - tr.rewards.length + p]!, `${it.id} token ${p}`));
        steps(it.id, batched.body.step_rewards[i]);
      });
      assert.deepEqual(alone.body.token_rewards[0], batched.body.token_rewards[2]);
      const tag = name === 'prm-2label' ? '<extra_0>' : 'ки';
      assert.equal(alone.body.token_rewards[0].tokens.filter((s: string) => s === tag).length, one.steps.length);
    });

    test('steps that do not fit: 422 as steps; as tagged text, leading steps dropped and said so', async () => {
      const long = items.find((it) => it.id === 'long')!;
      const c = cases.long!;
      assert.ok(c.truncated);
      const refused = await post(t.app, '/score', { items: [{ prompt: long.prompt, steps: long.steps }] });
      assert.equal(refused.status, 422);
      assert.equal(refused.body.error.code, 'response_too_long');
      const strict = await post(t.app, '/score', { truncation: 'error', items: [{ text: c.text }] });
      assert.equal(strict.body.error.code, 'item_too_long');
      // Beside a short item in one batch, through OpenRLHF's route.
      const r = await post(t.app, '/get_reward', { query: [c.text, cases['one-step']!.text] });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const kept = c.step_rewards.length;
      const dropped = long.steps.length - kept + 1; // the first kept step lost its start
      assert.equal(r.body.dropped_steps[0], dropped);
      const got: (number | null)[] = r.body.step_rewards[0];
      assert.equal(got.length, long.steps.length);
      assert.ok(got.slice(0, dropped).every((x) => x === null));
      got.slice(dropped).forEach((x, j) => near(x!, c.step_rewards[j + 1]!, `long step ${dropped + j}`));
      near(r.body.rewards[0], Math.min(...c.step_rewards.slice(1)), 'long reward');
      near(r.body.rewards[1], cases['one-step']!.aggregates.min!, 'one-step reward');
    });

    test('/rank and /compare use the combined reward and carry the step rewards', async () => {
      const [a, b] = [fitting[1]!, fitting[3]!];
      const rank = await post(t.app, '/rank', { prompt: a.prompt, responses: [{ steps: a.steps }, { steps: b.steps }] });
      assert.equal(rank.status, 200, JSON.stringify(rank.body));
      assert.equal(rank.body.step_rewards.length, 2);
      const pair = await post(t.app, '/compare', { pairs: [{ prompt: a.prompt, a: cases[a.id]!.text.split('Assistant: ')[1], b: 'no tag here' }] });
      assert.equal(pair.status, 422);
      assert.equal(pair.body.error.code, 'no_steps');
      const ok = await post(t.app, '/compare', { pairs: [{ prompt: a.prompt, a: cases[a.id]!.text.split('Assistant: ')[1], b: cases[b.id]!.text.split('Assistant: ')[1] }] });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      steps(a.id, ok.body.pairs[0].step_rewards_a);
      near(ok.body.pairs[0].margin, cases[a.id]!.aggregates.min! - rank.body.rewards[1], 'margin');
    });

    test('a step tag outside the response, or inside a step, is refused', async () => {
      const tag = name === 'prm-2label' ? '<extra_0>' : 'ки';
      const bad = await post(t.app, '/score', { items: [{ prompt: `Why ${tag}?`, steps: ['Because.'] }] });
      assert.equal(bad.status, 422);
      assert.match(bad.body.error.message, /outside the response/);
      const inside = await post(t.app, '/score', { items: [{ prompt: 'Why?', steps: [`Because ${tag} so.`] }] });
      assert.equal(inside.status, 422);
      const models = await t.app.inject({ url: '/v1/models' });
      const m = models.json().data[0];
      assert.equal(m.family, 'process');
      assert.equal(m.steps.tag, tag);
      assert.equal(m.steps.aggregate, 'min');
    });
  });
}

describe('armo-rm: every objective, the gated score as the reward', () => {
  let t: TestApp;
  const cases: Record<string, ArmoCase> = reference.models['armo-rm'].cases;
  const names = ['helpsteer-helpfulness', 'helpsteer-correctness', 'helpsteer-coherence', 'helpsteer-complexity', 'helpsteer-verbosity'];
  before(async () => {
    t = await startApp({ MODEL_DIR: fixture('armo-rm'), INFER_WORKERS: '1', MAX_BATCH_TOKENS: '65536', MAX_WAIT_MS: '50' });
  });
  after(() => t.close());

  test('alone and in one right-padded batch', async () => {
    const texts = fitting.map((it) => cases[it.id]!.text);
    const batched = await post(t.app, '/score', { items: texts.map((text) => ({ text })) });
    assert.equal(batched.status, 200, JSON.stringify(batched.body));
    for (const [i, it] of fitting.entries()) {
      const alone = await post(t.app, '/score', { items: [{ text: texts[i] }] });
      for (const r of [alone.body, { rewards: [batched.body.rewards[i]], heads: Object.fromEntries(names.map((n) => [n, [batched.body.heads[n][i]]])) }]) {
        near(r.rewards[0], cases[it.id]!.score, `${it.id} score`);
        names.forEach((n, k) => near(r.heads[n][0], cases[it.id]!.rewards[k]!, `${it.id} ${n}`));
      }
    }
  });

  test('request weights combine the objectives; /v1/models lists them', async () => {
    const it = fitting[0]!;
    const r = await post(t.app, '/score', { weights: { 'helpsteer-helpfulness': 1, 'helpsteer-verbosity': -0.5 }, items: [{ text: cases[it.id]!.text }] });
    const want = cases[it.id]!.rewards;
    near(r.body.rewards[0], want[0]! - 0.5 * want[4]!, 'weighted');
    const bad = await post(t.app, '/score', { weights: { nope: 1 }, items: [{ text: 'hi' }] });
    assert.equal(bad.status, 422);
    const tr = await post(t.app, '/score', { return_token_rewards: true, items: [{ text: 'hi' }] });
    assert.equal(tr.status, 422);
    const m = (await t.app.inject({ url: '/v1/models' })).json().data[0];
    assert.equal(m.family, 'multi_objective');
    assert.deepEqual(m.objectives, names);
  });
});

test('the output contract is checked at startup with one line', async () => {
  const load = async (from: string, reward: object) => {
    const dir = modelDir({ from, files: { 'reward.json': JSON.stringify(reward) } });
    return startApp({ MODEL_DIR: dir, INFER_WORKERS: '1' }).then(
      async (t) => {
        await t.close();
        return 'started';
      },
      (err: Error) => err.message,
    );
  };
  assert.match(await load('prm-2label', { max_length: 128 }), /output logits has rank 3 .*: a token-level model; reward.json needs "steps"/);
  assert.match(await load('armo-rm', { outputs: { reward: 'scores' } }), /no output named "scores" \(reward\.json outputs\.reward; outputs: rewards, score\)/);
  assert.match(await load('prm-2label', { steps: { tag: 'Step', positive_label: 1 } }), /steps\.tag "Step" is not an added token/);
  assert.match(await load('prm-2label', { steps: { tag: '<extra_0>', positive_label: 2 } }), /steps\.positive_label reads column 2 of output logits, which has 2/);
  assert.match(await load('prm-shepherd', { steps: { tag: 'ки', positive_label: 1, candidates: ['+', '-'] } }), /give exactly one of positive_label/);
  assert.match(await load('armo-rm', { outputs: { reward: 'score', heads: 'rewards' }, steps: { tag: '<extra_0>', positive_label: 1 } }), /steps needs a token-level reward output/);
});
