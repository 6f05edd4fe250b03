// slime's remote reward model (`--rm-type remote_rm --rm-url http://HOST:8080/reward`), checked
// against its source (slime is not installed here): THUDM/slime @ 701749b7 :
// slime/rollout/rm_hub/__init__.py (remote_rm posts {"prompt", "response", "label"} and keeps
// `await resp.json()` as the reward) and @ 7985bf23 : slime/utils/types.py (Sample.prompt is
// str | list[dict]; get_reward_value returns the reward as is when --reward-key is unset).
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { DEFAULT_MODEL, filler, FIXTURES, startApp, type TestApp, post } from '../helpers/app.js';

const LLAMA = path.join(FIXTURES, 'models', 'llama3-chat');
let t: TestApp;
before(async () => {
  t = await startApp({ MODELS: `${DEFAULT_MODEL},${LLAMA}`, INFER_WORKERS: '1' });
});
after(() => t.close());

test('the reply is the bare raw reward of {prompt, response}, as JSON; label is accepted', async () => {
  const payload = { prompt: filler(1, 8), response: filler(2, 12), label: null };
  const res = await t.app.inject({ method: 'POST', url: '/reward', payload });
  assert.equal(res.statusCode, 200);
  // aiohttp's resp.json() needs this content type.
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const reward = res.json();
  assert.equal(typeof reward, 'number');
  const s = await post(t.app, '/score', { items: [{ prompt: payload.prompt, response: payload.response }] });
  assert.equal(reward, s.body.rewards[0]);
  const labelled = await t.app.inject({ method: 'POST', url: '/reward', payload: { ...payload, label: 'A' } });
  assert.equal(labelled.json(), reward);
});

test('a chat prompt (list of messages) with ?model=: the reward of the conversation plus the response', async () => {
  const prompt = [{ role: 'user', content: filler(3, 8) }];
  const response = filler(4, 10);
  const res = await t.app.inject({ method: 'POST', url: '/reward?model=llama3-chat-fixture', payload: { prompt, response, label: 'x' } });
  assert.equal(res.statusCode, 200);
  const s = await post(t.app, '/score', { model: 'llama3-chat-fixture', items: [{ messages: [...prompt, { role: 'assistant', content: response }] }] });
  assert.equal(res.json(), s.body.rewards[0]);
});

test('errors keep the service envelope (slime retries every failure alike): 422 validation, 404 unknown model', async () => {
  const bad = await post(t.app, '/reward', { prompt: 'p' });
  assert.equal(bad.status, 422);
  assert.equal(bad.body.error.code, 'invalid_request');
  const unknown = await t.app.inject({ method: 'POST', url: '/reward?model=nope', payload: { prompt: 'p', response: 'r' } });
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.json().error.code, 'model_not_found');
});
