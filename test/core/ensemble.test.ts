import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { BackendFactory } from '../../src/core/runtime.js';
import { OrtBackend } from '../../src/infer/ort-backend.js';
import { filler, modelDir, post, startApp, type TestApp } from '../helpers/app.js';

// Two different fixture models: models/default's network and all-inputs.onnx.
const A = modelDir({ files: { 'reward.json': JSON.stringify({ name: 'rm-a' }) } });
const B = modelDir({ onnx: 'all-inputs.onnx', files: { 'reward.json': JSON.stringify({ name: 'rm-b' }) } });
const env = { MODELS: `${A},${B}`, ENSEMBLES: 'duo=rm-a+rm-b', ENSEMBLE_K: '0.5', INFER_WORKERS: '1' };
const items = [1, 2, 3, 4].map((i) => ({ prompt: filler(i, 5 + i), response: filler(i + 20, 3 + 2 * i) }));
const near = (a: number, b: number) => Math.abs(a - b) <= 1e-9;

/** Per model path: the real backend, each batch waiting for that model's gate while one is set. */
const gates = new Map<string, { entered: () => void; open: Promise<void> }>();
const gated: BackendFactory = async (opts) => {
  const real = await OrtBackend.create(opts);
  return {
    info: real.info,
    concurrency: real.concurrency,
    async run(batch) {
      const g = gates.get(opts.modelPath);
      if (g) {
        g.entered();
        await g.open;
      }
      return real.run(batch);
    },
    close: () => real.close(),
  };
};

let t: TestApp;
before(async () => {
  t = await startApp(env, gated);
});
after(() => t.close());

test('an ensemble reward is the mean of its members scored alone, with their std and mean − k·std', async () => {
  const a = (await post(t.app, '/score', { model: 'rm-a', items })).body.rewards as number[];
  const b = (await post(t.app, '/score', { model: 'rm-b', items })).body.rewards as number[];
  assert.notDeepEqual(a, b);
  const e = await post(t.app, '/score', { model: 'duo', items });
  assert.equal(e.status, 200);
  assert.equal(e.body.model, 'duo');
  assert.deepEqual(e.body.ensemble.members, { 'rm-a': a, 'rm-b': b });
  assert.equal(e.body.ensemble.k, 0.5);
  items.forEach((_, i) => {
    const mean = (a[i]! + b[i]!) / 2;
    const std = Math.abs(a[i]! - b[i]!) / 2;
    assert.ok(near(e.body.rewards[i], mean));
    assert.ok(near(e.body.ensemble.std[i], std));
    assert.ok(near(e.body.ensemble.conservative[i], mean - 0.5 * std));
  });
  const k2 = await post(t.app, '/score', { model: 'duo', items, k: 2 });
  items.forEach((_, i) => assert.ok(near(k2.body.ensemble.conservative[i], k2.body.rewards[i] - 2 * k2.body.ensemble.std[i])));
});

/** Each member's rewards for these items, scored alone (the reference for the ensemble's). */
async function membersAlone(scored: unknown[]): Promise<{ a: number[]; b: number[]; mean: number[] }> {
  const [a, b] = await Promise.all(
    ['rm-a', 'rm-b'].map(async (model) => {
      const r = await post(t.app, '/score', { model, items: scored });
      assert.equal(r.status, 200);
      assert.equal(r.body.rewards.length, scored.length);
      return r.body.rewards as number[];
    }),
  );
  return { a: a!, b: b!, mean: scored.map((_, i) => (a![i]! + b![i]!) / 2) };
}
const argmax = (xs: number[]) => xs.indexOf(Math.max(...xs));

test('/compare and /rank on an ensemble use the mean reward and report member agreement', async () => {
  const pair = { prompt: items[0]!.prompt, a: items[0]!.response, b: items[1]!.response };
  const c = await post(t.app, '/compare', { model: 'duo', pairs: [pair] });
  assert.equal(c.status, 200);
  const p = await membersAlone([{ prompt: pair.prompt, response: pair.a }, { prompt: pair.prompt, response: pair.b }]);
  assert.ok(near(c.body.pairs[0].margin, p.mean[0]! - p.mean[1]!));
  const votes = [p.a, p.b].filter((r) => Math.sign(r[0]! - r[1]!) === Math.sign(p.mean[0]! - p.mean[1]!)).length;
  assert.equal(c.body.pairs[0].agreement, votes / 2);

  // On this prompt the members pick different best responses (checked below): agreement is ½.
  const prompt = 'p';
  const responses = items.map((i) => i.response);
  const m = await membersAlone(responses.map((response) => ({ prompt, response })));
  assert.notEqual(argmax(m.a), argmax(m.b), 'the members agree on this prompt: the agreement check would be weak');
  const r = await post(t.app, '/rank', { model: 'duo', prompt, responses });
  assert.equal(r.status, 200);
  assert.equal(r.body.rewards.length, responses.length);
  r.body.rewards.forEach((got: number, i: number) => assert.ok(near(got, m.mean[i]!), `reward ${i}: ${got} vs mean ${m.mean[i]}`));
  assert.deepEqual(r.body.ensemble.members, { 'rm-a': m.a, 'rm-b': m.b });
  assert.deepEqual(r.body.order, [...responses.keys()].sort((i, j) => m.mean[j]! - m.mean[i]!));
  // Share of members whose own best response is the ensemble's best.
  const best = argmax(m.mean);
  assert.equal(r.body.agreement, [m.a, m.b].filter((x) => argmax(x) === best).length / 2);
});

test('GET /v1/models lists every model and the ensemble; an unknown model is a 404 envelope', async () => {
  const list = (await t.app.inject({ url: '/v1/models' })).json();
  assert.deepEqual(list.data.map((m: { id: string }) => m.id), ['rm-a', 'rm-b']);
  assert.equal(list.default, 'rm-a');
  assert.deepEqual(list.ensembles, [{ id: 'duo', object: 'ensemble', members: ['rm-a', 'rm-b'], k: 0.5, default: false }]);
  const r = await post(t.app, '/score', { model: 'rm-c', items });
  assert.equal(r.status, 404);
  assert.equal(r.body.error.code, 'model_not_found');
  assert.match(r.body.error.message, /No model or ensemble named "rm-c"; served: "rm-a", "rm-b", "duo"/);
  const def = await post(t.app, '/score', { items });
  assert.equal(def.body.model, 'rm-a');
});

test('members run in parallel: both are in inference at once, and the ensemble answers once the slower one does', async () => {
  const [pa, pb] = [t.models.all()[0]!, t.models.all()[1]!].map((rt) => rt.folder.modelPath) as [string, string];
  const control = (p: string) => {
    let entered!: () => void;
    let open!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    gates.set(p, { entered, open: new Promise<void>((r) => (open = r)) });
    return { inside, open };
  };
  const ga = control(pa);
  const gb = control(pb);
  let done = false;
  const pending = post(t.app, '/score', { model: 'duo', items }).then((r) => ((done = true), r));
  // Both members' batches reach their backends while neither has finished: they run side by side.
  await Promise.all([ga.inside, gb.inside]);
  gb.open();
  // The fast member answers; the ensemble still waits for the slow one.
  await post(t.app, '/score', { model: 'rm-b', items: [{ text: 'b is free' }] });
  assert.equal(done, false);
  ga.open();
  const r = await pending;
  gates.clear();
  assert.equal(r.status, 200);
  assert.equal(r.body.rewards.length, items.length);
});
