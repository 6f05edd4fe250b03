import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { filler, modelDir, post, startApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
before(async () => {
  // all-inputs.onnx reads token_type_ids through a two-type embedding.
  t = await startApp({ MODEL_DIR: modelDir({ onnx: 'all-inputs.onnx' }), INFER_WORKERS: '1' });
});
after(() => t.close());

test('"format": "pair" feeds token_type_ids: same ids as the inline-special text, different reward', async () => {
  const item = { prompt: 'hello there', response: 'general kenobi' };
  const pair = await post(t.app, '/score', { format: 'pair', items: [item] });
  assert.equal(pair.status, 200);
  // The default tokenizer's pair template is <s> A </s> </s> B </s>; as one text it is all type 0.
  const text = await post(t.app, '/score', { items: [{ text: '<s>hello there</s></s>general kenobi</s>' }] });
  assert.equal(pair.body.usage.tokens, text.body.usage.tokens);
  assert.notEqual(pair.body.rewards[0], text.body.rewards[0]);
  const template = await post(t.app, '/score', { items: [item] });
  assert.notEqual(pair.body.rewards[0], template.body.rewards[0]);
});

test('pairs keep their type ids when batched and padded beside other items', async () => {
  const item = { prompt: filler(1, 6), response: filler(2, 6) };
  const alone = await post(t.app, '/score', { format: 'pair', items: [item] });
  const mixed = await post(t.app, '/score', { format: 'pair', items: [{ prompt: filler(3, 200), response: 'x' }, item, { prompt: 'y', response: filler(4, 40) }] });
  assert.ok(Math.abs(alone.body.rewards[0] - mixed.body.rewards[1]) <= 1e-5);
  const long = await post(t.app, '/score', { format: 'pair', items: [{ prompt: filler(5, 2000), response: 'kept' }] });
  assert.deepEqual(long.body.truncated, [true]);
});

test('an unknown format is a 422 naming the field', async () => {
  const r = await post(t.app, '/score', { format: 'triple', items: [{ text: 'a' }] });
  assert.equal(r.status, 422);
  assert.match(r.body.error.message, /^format:/);
});
