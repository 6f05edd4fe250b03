// TEI-style POST /predict, checked against Text Embeddings Inference's source (no TEI client is
// installed here): huggingface/text-embeddings-inference @ 265deb2a : router/src/http/types.rs
// (PredictRequest, PredictInput, PredictResponse) and @ bc0fa321 : router/src/http/server.rs
// (error statuses per ErrorType); clients post {"inputs", "raw_scores"?, "truncate"?,
// "truncation_direction"?} and read the list of {"score", "label"}.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { DEFAULT_MODEL, DEFAULT_NAME, filler, FIXTURES, post, startApp, type TestApp, twoHeadsDir } from '../helpers/app.js';

const LLAMA = path.join(FIXTURES, 'models', 'llama3-chat');
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-6, `${a} ≈ ${b}`);

let t: TestApp;
before(async () => {
  const heads = twoHeadsDir({ name: 'two-heads' });
  t = await startApp({ MODELS: `${DEFAULT_MODEL},${LLAMA},${heads}`, INFER_WORKERS: '1' });
});
after(() => t.close());

const text = (i: number) => `\n\nHuman: ${filler(i, 8)}\n\nAssistant: ${filler(i + 50, 12)}`;
const prompt = (i: number) => filler(i, 8);
const response = (i: number) => filler(i + 50, 12);

test('a single text: [{score, label}] one per class; σ of the /score reward, raw with raw_scores', async () => {
  const s = await post(t.app, '/score', { items: [{ text: text(1) }] });
  const r = await post(t.app, '/predict', { inputs: text(1) });
  assert.equal(r.status, 200);
  assert.equal(r.body.length, 1);
  assert.deepEqual(Object.keys(r.body[0]).sort(), ['label', 'score']);
  assert.equal(r.body[0].label, 'reward');
  close(r.body[0].score, sigmoid(s.body.rewards[0]));
  const raw = await post(t.app, '/predict', { inputs: text(1), raw_scores: true });
  assert.equal(raw.body[0].score, s.body.rewards[0]);
  // ["a"] is one text, as TEI reads it.
  const one = await post(t.app, '/predict', { inputs: [text(1)], raw_scores: true });
  assert.deepEqual(one.body, raw.body);
});

test('a pair [a, b] is {prompt: a, response: b} in the model input format (template, chat); a batch is a list of lists', async () => {
  const s = await post(t.app, '/score', { items: [{ prompt: prompt(2), response: response(2) }] });
  const pair = await post(t.app, '/predict', { inputs: [prompt(2), response(2)], raw_scores: true });
  assert.equal(pair.body[0].score, s.body.rewards[0]);
  const chat = await post(t.app, '/score', { model: 'llama3-chat-fixture', items: [{ prompt: prompt(3), response: response(3) }] });
  const chatPair = await t.app.inject({ method: 'POST', url: '/predict?model=llama3-chat-fixture', payload: { inputs: [prompt(3), response(3)], raw_scores: true } });
  assert.equal(chatPair.json()[0].score, chat.body.rewards[0]);
  const batch = await post(t.app, '/predict', { inputs: [[text(4)], [prompt(2), response(2)]], raw_scores: true });
  assert.equal(batch.status, 200);
  assert.equal(batch.body.length, 2);
  assert.equal(batch.body[0][0].score, (await post(t.app, '/score', { items: [{ text: text(4) }] })).body.rewards[0]);
  assert.equal(batch.body[1][0].score, s.body.rewards[0]);
});

test('several classes: every one, best first, softmax unless raw_scores', async () => {
  const s = await post(t.app, '/score', { model: 'two-heads', items: [{ text: text(5) }] });
  const logits: Record<string, number> = { helpful: s.body.heads.helpful[0], harmless: s.body.heads.harmless[0] };
  const raw = await t.app.inject({ method: 'POST', url: '/predict?model=two-heads', payload: { inputs: text(5), raw_scores: true } });
  const body = raw.json();
  assert.equal(body.length, 2);
  assert.ok(body[0].score >= body[1].score, 'sorted best first');
  for (const e of body) assert.equal(e.score, logits[e.label]);
  const soft = (await t.app.inject({ method: 'POST', url: '/predict?model=two-heads', payload: { inputs: text(5) } })).json();
  close(soft[0].score + soft[1].score, 1);
  assert.equal(soft[0].label, body[0].label);
});

test('truncation: off by default (413 Validation); Left truncates as /score; Right is refused where it would cut', async () => {
  const long = `\n\nHuman: ${filler(9, 400)}\n\nAssistant: Yes.`;
  const refused = await post(t.app, '/predict', { inputs: long });
  assert.equal(refused.status, 413);
  assert.equal(refused.body.error_type, 'Validation');
  const left = await post(t.app, '/predict', { inputs: long, truncate: true, truncation_direction: 'Left', raw_scores: true });
  assert.equal(left.status, 200);
  assert.equal(left.body[0].score, (await post(t.app, '/score', { items: [{ text: long }] })).body.rewards[0]);
  const absent = await post(t.app, '/predict', { inputs: long, truncate: true, raw_scores: true });
  assert.deepEqual(absent.body, left.body, 'no direction: Left, the service truncation');
  const right = await post(t.app, '/predict', { inputs: long, truncate: true, truncation_direction: 'right' });
  assert.equal(right.status, 413);
  assert.match(right.body.error, /truncation_direction "Right" would cut the end/);
  const short = await post(t.app, '/predict', { inputs: text(1), truncate: true, truncation_direction: 'Right' });
  assert.equal(short.status, 200, 'Right is fine where nothing is cut');
});

test("errors: TEI's {error, error_type} with TEI's statuses; an unknown ?model= is 404", async () => {
  const bad = await post(t.app, '/predict', { inputs: ['a', 'b', 'c'] });
  assert.equal(bad.status, 413);
  assert.deepEqual(Object.keys(bad.body).sort(), ['error', 'error_type']);
  assert.equal(bad.body.error_type, 'Validation');
  assert.equal(typeof bad.body.error, 'string');
  const unknown = await t.app.inject({ method: 'POST', url: '/predict?model=nope', payload: { inputs: 'hi' } });
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.json().error_type, 'Validation');
  const json = await t.app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'application/json' }, payload: '{' });
  assert.equal(json.statusCode, 400);
  assert.equal(json.json().error_type, 'Validation');
  const named = await t.app.inject({ method: 'POST', url: `/predict?model=${DEFAULT_NAME}`, payload: { inputs: 'hi' } });
  assert.equal(named.statusCode, 200);
});
