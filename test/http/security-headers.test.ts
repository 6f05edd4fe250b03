import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { buildApp } from '../../src/app.js';
import { startApp, testConfig, type TestApp } from '../helpers/app.js';

let t: TestApp;
before(async () => {
  t = await startApp();
});
after(() => t.close());

const preflight = { origin: 'https://dash.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' };

test('every response carries the security headers and no version banner', async () => {
  const responses = [
    await t.app.inject({ url: '/health/live' }),
    await t.app.inject({ method: 'POST', url: '/score', payload: { items: [{ text: 'a' }] } }),
    await t.app.inject({ method: 'POST', url: '/score', payload: '{', headers: { 'content-type': 'application/json' } }),
    await t.app.inject({ url: '/nowhere' }),
  ];
  assert.deepEqual(responses.map((r) => r.statusCode), [200, 200, 400, 404]);
  for (const r of responses) {
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['x-frame-options'], 'DENY');
    assert.equal(r.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'");
    assert.equal(r.headers['referrer-policy'], 'no-referrer');
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.equal(r.headers['server'], undefined);
    assert.equal(r.headers['x-powered-by'], undefined);
    assert.match(String(r.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  }
});

test('CORS is off unless CORS_ORIGINS is set', async () => {
  const pre = await t.app.inject({ method: 'OPTIONS', url: '/score', headers: preflight });
  assert.equal(pre.statusCode, 404);
  assert.equal(pre.headers['access-control-allow-origin'], undefined);
  const get = await t.app.inject({ url: '/health/live', headers: { origin: 'https://dash.example' } });
  assert.equal(get.headers['access-control-allow-origin'], undefined);
});

test('with CORS_ORIGINS, listed origins may call (preflight needs no key); others may not', async () => {
  const config = testConfig({ CORS_ORIGINS: 'https://dash.example, https://eval.example', API_KEYS: 'cors-test-key-123' });
  const app = await buildApp({ config, lifecycle: t.lifecycle });
  try {
    const pre = await app.inject({ method: 'OPTIONS', url: '/score', headers: preflight });
    assert.equal(pre.statusCode, 204);
    assert.equal(pre.headers['access-control-allow-origin'], 'https://dash.example');
    assert.match(String(pre.headers['access-control-allow-headers']), /authorization/);
    const post = await app.inject({
      method: 'POST',
      url: '/score',
      payload: { items: [{ text: 'a' }] },
      headers: { origin: 'https://eval.example', authorization: 'Bearer cors-test-key-123' },
    });
    assert.equal(post.statusCode, 200);
    assert.equal(post.headers['access-control-allow-origin'], 'https://eval.example');
    assert.match(String(post.headers['access-control-expose-headers']), /x-request-id/);
    const other = await app.inject({ method: 'OPTIONS', url: '/score', headers: { ...preflight, origin: 'https://evil.example' } });
    assert.equal(other.headers['access-control-allow-origin'], undefined);
  } finally {
    await app.close();
  }
});
