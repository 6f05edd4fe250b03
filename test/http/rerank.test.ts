// TEI-style POST /rerank, checked against Text Embeddings Inference's source (no TEI client is
// installed here): huggingface/text-embeddings-inference @ 265deb2a : router/src/http/types.rs
// (RerankRequest, RerankResponse: [{"index", "text"?, "score"}] best first) and @ bc0fa321 :
// router/src/http/server.rs (empty `texts` → 400 Empty; each text scored as the pair (query, text)).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { filler, post, startApp, type TestApp } from '../helpers/app.js';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

let t: TestApp;
before(async () => {
  t = await startApp();
});
after(() => t.close());

const query = filler(1, 8);
const texts = [2, 3, 4].map((i) => filler(i, 10));

test('each text is scored as {prompt: query, response: text}; best first; σ unless raw_scores; text with return_text', async () => {
  const s = await post(t.app, '/score', { items: texts.map((response) => ({ prompt: query, response })) });
  const r = await post(t.app, '/rerank', { query, texts, raw_scores: true });
  assert.equal(r.status, 200);
  assert.equal(r.body.length, 3);
  for (const e of r.body) {
    assert.deepEqual(Object.keys(e).sort(), ['index', 'score']);
    assert.equal(e.score, s.body.rewards[e.index]);
  }
  const scores = r.body.map((e: { score: number }) => e.score);
  assert.deepEqual(scores, [...scores].sort((a, b) => b - a));
  const sig = await post(t.app, '/rerank', { query, texts, return_text: true });
  for (const e of sig.body) {
    assert.ok(Math.abs(e.score - sigmoid(s.body.rewards[e.index])) < 1e-6);
    assert.equal(e.text, texts[e.index]);
  }
  assert.deepEqual(sig.body.map((e: { index: number }) => e.index), r.body.map((e: { index: number }) => e.index));
});

test("errors: empty texts → 400 Empty; a validation error → 413 Validation; unknown ?model= → 404", async () => {
  const empty = await post(t.app, '/rerank', { query, texts: [] });
  assert.equal(empty.status, 400);
  assert.deepEqual(empty.body, { error: '`texts` cannot be empty', error_type: 'Empty' });
  const bad = await post(t.app, '/rerank', { query, texts: 'not a list' });
  assert.equal(bad.status, 413);
  assert.equal(bad.body.error_type, 'Validation');
  const unknown = await t.app.inject({ method: 'POST', url: '/rerank?model=nope', payload: { query, texts } });
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.json().error_type, 'Validation');
});
