// vLLM-style POST /classify, checked against the clients' source (no framework is installed here):
// - verl-project/verl @ fed1e3d1 : verl/experimental/reward_loop/reward_loop.py (RewardLoopWorker
//   compute_score_disrm: {"model": <rm path>, "input": rm_prompt, "use_activation": False}, reads
//   output["data"][-1]["probs"][-1]); volcengine/verl @ 603d33de, same path (older: "activation": False)
// - vllm-project/vllm @ dff4cad3 : vllm/entrypoints/pooling/classify/protocol.py (request and
//   ClassificationResponse), @ ba638200 : vllm/entrypoints/serve/exception_handling/error_response.py
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { DEFAULT_MODEL, DEFAULT_NAME, filler, FIXTURES, post, startApp, type TestApp, twoHeadsDir } from '../helpers/app.js';

const LLAMA = path.join(FIXTURES, 'models', 'llama3-chat');
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-6, `${a} ≈ ${b}`);

let t: TestApp;
before(async () => {
  const heads = twoHeadsDir({ name: 'two-heads', head_weights: { helpful: 0.75, harmless: 0.25 } });
  t = await startApp({ MODELS: `${DEFAULT_MODEL},${LLAMA},${heads}`, INFER_WORKERS: '1' });
});
after(() => t.close());

// verl's rm_prompt: the reward model's chat-templated text with its leading BOS stripped.
const rmPrompt = (i: number) => `\n\nHuman: ${filler(i, 8)}\n\nAssistant: ${filler(i + 50, 12)}`;
const scoreText = async (text: string, model = DEFAULT_NAME) => (await post(t.app, '/score', { model, items: [{ text }] })).body.rewards[0] as number;

test("verl's request: data[-1].probs[-1] with use_activation false is exactly the raw reward of /score", async () => {
  for (const model of [`/ckpt/${DEFAULT_NAME}`, `Org/${DEFAULT_NAME}`, DEFAULT_NAME, `/ckpt/${DEFAULT_NAME}/`]) {
    const res = await t.app.inject({ method: 'POST', url: '/classify', payload: { model, input: rmPrompt(1), use_activation: false } });
    assert.equal(res.statusCode, 200, model);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const output = res.json();
    assert.equal(output.data.at(-1).probs.at(-1), await scoreText(rmPrompt(1)), model);
  }
  // Older verl (vLLM < 0.11.2) sends "activation" instead.
  const old = await post(t.app, '/classify', { model: `/ckpt/${DEFAULT_NAME}`, input: rmPrompt(2), activation: false });
  assert.equal(old.body.data.at(-1).probs.at(-1), await scoreText(rmPrompt(2)));
});

test('the response is vLLM ClassificationResponse, field for field; activation on by default (σ for one class)', async () => {
  const r = await post(t.app, '/classify', { input: [rmPrompt(3), rmPrompt(4)] });
  assert.equal(r.status, 200);
  assert.deepEqual(Object.keys(r.body), ['id', 'object', 'created', 'model', 'data', 'usage']);
  assert.match(r.body.id, /^classify-[0-9a-f]{32}$/);
  assert.equal(r.body.object, 'list');
  assert.ok(Number.isInteger(r.body.created) && Math.abs(r.body.created - Date.now() / 1000) < 60);
  assert.equal(r.body.model, DEFAULT_NAME);
  const s = await post(t.app, '/score', { items: [{ text: rmPrompt(3) }, { text: rmPrompt(4) }] });
  assert.equal(r.body.data.length, 2);
  r.body.data.forEach((d: Record<string, unknown>, i: number) => {
    assert.deepEqual(Object.keys(d), ['index', 'label', 'probs', 'num_classes']);
    assert.equal(d.index, i);
    assert.equal(d.label, 'reward', "config.json id2label of models/default");
    assert.equal(d.num_classes, 1);
    close((d.probs as number[])[0]!, sigmoid(s.body.rewards[i]));
  });
  assert.deepEqual(r.body.usage, { prompt_tokens: s.body.usage.tokens, total_tokens: s.body.usage.tokens, completion_tokens: 0, prompt_tokens_details: null });
  // use_activation wins over the deprecated aliases; null means unset.
  const raw = await post(t.app, '/classify', { input: rmPrompt(3), use_activation: null, activation: false, softmax: true });
  assert.equal(raw.body.data[0].probs[0], s.body.rewards[0]);
  const on = await post(t.app, '/classify', { input: rmPrompt(3), use_activation: true, activation: false });
  close(on.body.data[0].probs[0], sigmoid(s.body.rewards[0]));
  const alias = await post(t.app, '/v1/classify', { input: rmPrompt(3), use_activation: false });
  assert.equal(alias.status, 200);
  assert.equal(alias.body.data[0].probs[0], s.body.rewards[0]);
});

test('a multi-head model: probs are every head (raw, or softmax), label the argmax id2label name', async () => {
  const items = [{ text: rmPrompt(5) }];
  const s = await post(t.app, '/score', { model: 'two-heads', items });
  const logits = [s.body.heads.helpful[0], s.body.heads.harmless[0]];
  const raw = await post(t.app, '/classify', { model: 'two-heads', input: rmPrompt(5), use_activation: false });
  assert.deepEqual(raw.body.data[0].probs, logits);
  assert.equal(raw.body.data[0].num_classes, 2);
  assert.equal(raw.body.data[0].label, logits[0] >= logits[1] ? 'helpful' : 'harmless');
  const soft = await post(t.app, '/classify', { model: 'two-heads', input: rmPrompt(5) });
  const e = logits.map((x) => Math.exp(x - Math.max(...logits)));
  soft.body.data[0].probs.forEach((p: number, k: number) => close(p, e[k]! / (e[0]! + e[1]!)));
});

test('messages (chat form) equal /score {messages}; token ids and add_special_tokens false equal the text', async () => {
  const messages = [
    { role: 'user', content: filler(7, 8) },
    { role: 'assistant', content: filler(8, 10) },
  ];
  const s = await post(t.app, '/score', { model: 'llama3-chat-fixture', items: [{ messages }] });
  const c = await post(t.app, '/classify', { model: 'llama3-chat-fixture', messages, use_activation: false });
  assert.equal(c.status, 200);
  assert.equal(c.body.data[0].probs[0], s.body.rewards[0]);
  assert.equal(c.body.usage.prompt_tokens, s.body.usage.tokens);

  const tok = await post(t.app, '/tokenize', { items: [{ text: rmPrompt(6) }] });
  const ids: number[] = tok.body.items[0].ids;
  const byIds = await post(t.app, '/classify', { input: ids, use_activation: false });
  assert.equal(byIds.body.data[0].probs[0], await scoreText(rmPrompt(6)));
  const batchIds = await post(t.app, '/classify', { input: [ids, ids.slice(0, -1)], use_activation: false });
  assert.equal(batchIds.body.data.length, 2);
  assert.equal(batchIds.body.data[0].probs[0], byIds.body.data[0].probs[0]);
  // Without special tokens the text must carry them itself: <s> … </s> written out scores the same.
  const plain = await post(t.app, '/classify', { input: `<s>${rmPrompt(6)}</s>`, add_special_tokens: false, use_activation: false });
  assert.equal(plain.body.data[0].probs[0], byIds.body.data[0].probs[0]);
  assert.equal(plain.body.usage.prompt_tokens, ids.length);
  const bare = await post(t.app, '/classify', { input: rmPrompt(6), add_special_tokens: false, use_activation: false });
  assert.equal(bare.body.usage.prompt_tokens, ids.length - 2, 'no <s> and </s> added');
  const bad = await post(t.app, '/classify', { input: [1, 999999] });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /token id 999999 is not in the vocabulary/);
  const empty = await post(t.app, '/classify', { input: [] });
  assert.equal(empty.status, 200);
  assert.deepEqual(empty.body.data, []);
});

test('truncate_prompt_tokens: null refuses an over-long item, -1 truncates as /score does, other sizes are 400', async () => {
  const long = `\n\nHuman: ${filler(9, 400)}\n\nAssistant: Yes.`;
  const refused = await post(t.app, '/classify', { input: long });
  assert.equal(refused.status, 400);
  assert.equal(refused.body.error.type, 'BadRequestError');
  assert.match(refused.body.error.message, /max_length is 192/);
  const cut = await post(t.app, '/classify', { input: long, truncate_prompt_tokens: -1, use_activation: false });
  assert.equal(cut.status, 200);
  assert.equal(cut.body.data[0].probs[0], await scoreText(long));
  assert.equal(cut.body.usage.prompt_tokens, 192);
  const same = await post(t.app, '/classify', { input: long, truncate_prompt_tokens: 192, use_activation: false });
  assert.equal(same.body.data[0].probs[0], cut.body.data[0].probs[0]);
  for (const k of [10, 193]) {
    const r = await post(t.app, '/classify', { input: long, truncate_prompt_tokens: k });
    assert.equal(r.status, 400, String(k));
    assert.match(r.body.error.message, /truncate_prompt_tokens/);
  }
});

test("errors come in vLLM's shape and statuses: validation 400, unknown model 404, bad JSON 400", async () => {
  const bad = await post(t.app, '/classify', { input: 5 });
  assert.equal(bad.status, 400);
  assert.deepEqual(Object.keys(bad.body), ['error']);
  assert.deepEqual(Object.keys(bad.body.error), ['message', 'type', 'param', 'code']);
  assert.equal(bad.body.error.type, 'BadRequestError');
  assert.equal(bad.body.error.code, 400);
  assert.equal(bad.body.error.param, null);
  const missing = await post(t.app, '/classify', { model: DEFAULT_NAME });
  assert.equal(missing.status, 400);
  const unknown = await post(t.app, '/classify', { model: '/ckpt/not-served', input: 'hi' });
  assert.equal(unknown.status, 404);
  assert.deepEqual(unknown.body.error, { message: unknown.body.error.message, type: 'NotFoundError', param: null, code: 404 });
  // A bare name that is not served is not resolved by path.
  assert.equal((await post(t.app, '/classify', { model: 'not-served', input: 'hi' })).status, 404);
  const priority = await post(t.app, '/classify', { input: 'hi', priority: 1 });
  assert.equal(priority.status, 400);
  const json = await t.app.inject({ method: 'POST', url: '/classify', headers: { 'content-type': 'application/json' }, payload: '{"input": ' });
  assert.equal(json.statusCode, 400);
  assert.equal(json.json().error.code, 400);
  assert.equal(json.json().error.type, 'BadRequestError');
  const media = await t.app.inject({ method: 'POST', url: '/v1/classify', headers: { 'content-type': 'text/plain' }, payload: 'hi' });
  assert.equal(media.statusCode, 415);
  assert.equal(media.json().error.code, 415);
  // Routes that do not exist keep our envelope.
  const none = await post(t.app, '/v2/classify', { input: 'hi' });
  assert.equal(none.status, 404);
  assert.equal(none.body.error.code, 'not_found');
});
