import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ERROR_CODES, ServiceError, type ErrorCode } from '../../src/errors.js';
import { dialectReply, TEI_ERRORS, TEI_STATUS, VLLM_ERRORS } from '../../src/http/error-dialects.js';
import { startApp, type TestApp } from '../helpers/app.js';

const codes = Object.keys(ERROR_CODES) as ErrorCode[];

test('every error code has an entry in each dialect', () => {
  assert.deepEqual(Object.keys(VLLM_ERRORS).sort(), [...codes].sort());
  assert.deepEqual(Object.keys(TEI_ERRORS).sort(), [...codes].sort());
  for (const code of codes) {
    const e = new ServiceError(code, 'm');
    const v = dialectReply('vllm', e);
    assert.deepEqual(v.body, { error: { message: 'm', type: VLLM_ERRORS[code].type, param: null, code: v.status } }, code);
    const t = dialectReply('tei', e);
    assert.deepEqual(t.body, { error: 'm', error_type: TEI_ERRORS[code].type }, code);
    assert.ok(t.status >= 400 && t.status < 600 || code === 'client_closed', code);
    assert.deepEqual(dialectReply(undefined, e), { status: ERROR_CODES[code].status, body: { error: { code, message: 'm' } } });
  }
});

test('statuses as the originals answer: vLLM 400/404/500, never 429 (a full queue is 503, which verl retries); TEI by error type', () => {
  const s = (d: 'vllm' | 'tei', code: ErrorCode) => dialectReply(d, new ServiceError(code)).status;
  assert.equal(s('vllm', 'invalid_request'), 400);
  assert.equal(s('vllm', 'item_too_long'), 400);
  assert.equal(s('vllm', 'model_not_found'), 404);
  assert.equal(s('vllm', 'internal_error'), 500);
  assert.ok(codes.every((c) => s('vllm', c) !== 429));
  assert.equal(s('vllm', 'overloaded'), 503);
  assert.equal(s('tei', 'overloaded'), TEI_STATUS.Overloaded);
  assert.equal(s('tei', 'invalid_request'), 413);
  assert.equal(s('tei', 'empty_input'), 400);
  assert.equal(s('tei', 'chat_template_error'), 422);
  assert.equal(s('tei', 'inference_failed'), 424);
  assert.equal(s('tei', 'not_ready'), 503);
});

let t: TestApp;
before(async () => {
  t = await startApp({ API_KEYS: 'k-123456789012345678901234567890', MAX_BODY_BYTES: '2048' });
});
after(() => t.close());

test("errors raised before the handler (auth hook, body limit) come out in the route's dialect", async () => {
  const vllm = await t.app.inject({ method: 'POST', url: '/classify', payload: { input: 'hi' } });
  assert.equal(vllm.statusCode, 401);
  assert.deepEqual(vllm.json().error.code, 401);
  const tei = await t.app.inject({ method: 'POST', url: '/predict', payload: { inputs: 'hi' } });
  assert.equal(tei.statusCode, 401);
  assert.equal(tei.json().error_type, 'Validation');
  const ours = await t.app.inject({ method: 'POST', url: '/reward', payload: { prompt: 'p', response: 'r' } });
  assert.equal(ours.json().error.code, 'unauthorized');
  const auth = { authorization: 'Bearer k-123456789012345678901234567890' };
  const big = await t.app.inject({ method: 'POST', url: '/classify', headers: auth, payload: { input: 'x'.repeat(4096) } });
  assert.equal(big.statusCode, 413);
  assert.equal(big.json().error.code, 413);
  assert.match(big.json().error.message, /MAX_BODY_BYTES/);
  const bigTei = await t.app.inject({ method: 'POST', url: '/rerank', headers: auth, payload: { query: 'q', texts: ['x'.repeat(4096)] } });
  assert.equal(bigTei.statusCode, 413);
  assert.equal(bigTei.json().error_type, 'Validation');
  // Failures are still counted once, by our code.
  const metrics = await t.app.inject({ url: '/metrics', headers: auth });
  assert.match(metrics.body, /reward_failures_total\{reason="unauthorized",model="none"\} [3-9]/);
});
