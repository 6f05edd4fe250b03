import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ERROR_CODES } from '../../src/errors.js';
import { startApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
before(async () => {
  t = await startApp({ MAX_BODY_BYTES: '65536', MAX_ITEMS_PER_REQUEST: '16', MAX_CHARS_PER_TEXT: '1000' });
});
after(() => t.close());

const json = { 'content-type': 'application/json' };
const valid = JSON.stringify({ items: [{ prompt: 'hello', response: 'world' }] });

/** [case, url, raw body, headers, expected status, expected code] */
const cases: [string, string, string, Record<string, string>, number, string][] = [
  ['malformed JSON', '/score', '{"items": [', json, 400, 'invalid_json'],
  ['empty body', '/score', '', json, 400, 'invalid_json'],
  ['not JSON content type', '/score', valid, { 'content-type': 'text/plain' }, 415, 'unsupported_media_type'],
  ['body is an array', '/score', '[1,2]', json, 422, 'invalid_request'],
  ['body is a string', '/score', '"items"', json, 422, 'invalid_request'],
  ['items missing', '/score', '{}', json, 422, 'invalid_request'],
  ['items empty', '/score', '{"items": []}', json, 422, 'invalid_request'],
  ['items not an array', '/score', '{"items": {"prompt": "a", "response": "b"}}', json, 422, 'invalid_request'],
  ['response missing', '/score', '{"items": [{"prompt": "a"}]}', json, 422, 'invalid_request'],
  ['prompt is a number', '/score', '{"items": [{"prompt": 1, "response": "b"}]}', json, 422, 'invalid_request'],
  ['text is null', '/score', '{"items": [{"text": null}]}', json, 422, 'invalid_request'],
  ['text and prompt together', '/score', '{"items": [{"text": "a", "prompt": "b", "response": "c"}]}', json, 422, 'invalid_request'],
  ['unknown top-level field', '/score', '{"items": [{"text": "a"}], "temperature": 3}', json, 422, 'invalid_request'],
  ['unknown item field', '/score', '{"items": [{"text": "a", "extra": 1}]}', json, 422, 'invalid_request'],
  ['bad truncation mode', '/score', '{"items": [{"text": "a"}], "truncation": "left"}', json, 422, 'invalid_request'],
  ['__proto__ key', '/score', '{"items": [{"text": "a"}], "__proto__": {"polluted": true}}', json, 400, 'invalid_json'],
  ['constructor.prototype key', '/score', '{"items": [{"text": "a", "constructor": {"prototype": {"polluted": true}}}]}', json, 400, 'invalid_json'],
  ['text over the character cap', '/score', JSON.stringify({ items: [{ text: 'x'.repeat(1001) }] }), json, 422, 'text_too_long'],
  ['too many items', '/score', JSON.stringify({ items: Array(17).fill({ text: 'a' }) }), json, 422, 'too_many_items'],
  ['body over the byte cap', '/score', JSON.stringify({ items: [{ text: 'x'.repeat(70_000) }] }), json, 413, 'payload_too_large'],
  ['pair missing b', '/compare', '{"pairs": [{"prompt": "p", "a": "x"}]}', json, 422, 'invalid_request'],
  ['pair mixing aliases', '/compare', '{"pairs": [{"prompt": "p", "a": "x", "rejected": "y"}]}', json, 422, 'invalid_request'],
  ['pairs empty', '/compare', '{"pairs": []}', json, 422, 'invalid_request'],
  ['unknown route', '/scores', valid, json, 404, 'not_found'],
];

for (const [name, url, payload, headers, status, code] of cases) {
  test(`bad input: ${name} → ${status} ${code}, and the next request succeeds`, async () => {
    const res = await t.app.inject({ method: 'POST', url, payload, headers });
    assert.equal(res.statusCode, status);
    assert.equal(ERROR_CODES[code as keyof typeof ERROR_CODES].status, status);
    const body = res.json();
    assert.deepEqual(Object.keys(body), ['error']);
    assert.equal(body.error.code, code);
    assert.equal(typeof body.error.message, 'string');
    assert.doesNotMatch(res.body, /\n\s+at |node_modules|\/work\/|dist\//, 'no stack trace or path');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const next = await t.app.inject({ method: 'POST', url: '/score', payload: valid, headers: json });
    assert.equal(next.statusCode, 200);
  });
}

test('error messages name the offending field and the cap', async () => {
  const missing = await t.app.inject({ method: 'POST', url: '/score', payload: '{"items": [{"prompt": "a"}]}', headers: json });
  assert.match(missing.json().error.message, /items\.0/);
  const big = await t.app.inject({ method: 'POST', url: '/score', payload: JSON.stringify({ items: [{ prompt: 'a', response: 'y'.repeat(1001) }] }), headers: json });
  assert.match(big.json().error.message, /items\.0\.response is longer than 1000 characters/);
  const many = await t.app.inject({ method: 'POST', url: '/score', payload: JSON.stringify({ items: Array(17).fill({ text: 'a' }) }), headers: json });
  assert.match(many.json().error.message, /more than 16/);
  const huge = await t.app.inject({ method: 'POST', url: '/score', payload: JSON.stringify({ items: [{ text: 'x'.repeat(70_000) }] }), headers: json });
  assert.equal(huge.json().error.message, 'Request body is larger than 65536 bytes (MAX_BODY_BYTES)');
});
