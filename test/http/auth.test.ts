import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { ConfigError } from '../../src/config.js';
import { isValidKey, keyDigest, loadApiKeys } from '../../src/http/plugins/auth.js';
import { createLogger } from '../../src/logger.js';
import { startApp, testConfig, type TestApp } from '../helpers/app.js';

const keysFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'reward-keys-')), 'keys');
fs.writeFileSync(keysFile, '# trainers\nkey-three-from-file\n\n');
const env = { API_KEYS: 'key-one-0123456789, key-two-abcdefghij', API_KEYS_FILE: keysFile };
const WRONG = 'sk-wrong-but-plausible-key';

let t: TestApp;
let logged: FastifyInstance;
let logText = '';
before(async () => {
  t = await startApp(env);
  // The same model behind an app that logs everything, to read what reaches the log.
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logText += String(chunk);
      cb();
    },
  });
  logged = await buildApp({ config: t.config, lifecycle: t.lifecycle, logger: createLogger('trace', sink) });
});
after(async () => {
  await logged.close();
  await t.close();
});

const score = (app: FastifyInstance, authorization?: string) =>
  app.inject({
    method: 'POST',
    url: '/score',
    payload: { items: [{ text: 'hello' }] },
    headers: authorization === undefined ? {} : { authorization },
  });

test('no key or a malformed header: 401 unauthorized with WWW-Authenticate', async () => {
  for (const h of [undefined, '', 'Basic a2V5LW9uZQ==', 'Bearer', 'Bearer  ', 'key-one-0123456789', 'Bearer a b']) {
    const r = await score(t.app, h);
    assert.equal(r.statusCode, 401, String(h));
    assert.deepEqual(Object.keys(r.json()), ['error']);
    assert.equal(r.json().error.code, 'unauthorized');
    assert.equal(r.headers['www-authenticate'], 'Bearer');
  }
});

test('a wrong key: 403 forbidden, whatever its length', async () => {
  for (const k of [WRONG, 'x', 'key-one-012345678', 'key-one-0123456789x'.repeat(40)]) {
    const r = await score(t.app, `Bearer ${k}`);
    assert.equal(r.statusCode, 403, k);
    assert.equal(r.json().error.code, 'forbidden');
  }
});

test('every configured key works, from API_KEYS and API_KEYS_FILE', async () => {
  for (const k of ['key-one-0123456789', 'key-two-abcdefghij', 'key-three-from-file']) {
    const r = await score(t.app, `Bearer ${k}`);
    assert.equal(r.statusCode, 200, k);
    assert.equal(r.json().rewards.length, 1);
  }
  assert.equal((await score(t.app, 'bearer key-two-abcdefghij')).statusCode, 200, 'the scheme is case-insensitive');
  assert.equal(loadApiKeys(testConfig(env)).length, 3, 'comments and blank lines are not keys');
});

test('health and metrics are open by default; every other route, known or not, needs the key', async () => {
  for (const url of ['/health/live', '/health/ready', '/metrics']) assert.equal((await t.app.inject({ url })).statusCode, 200, url);
  for (const url of ['/v1/models', '/openapi.yaml', '/no-such-route']) {
    const r = await t.app.inject({ url });
    assert.equal(r.statusCode, 401, url);
  }
  // The page and its files are open: the page asks for the key before it calls the API.
  for (const url of ['/', '/docs', '/ui/page.js']) assert.equal((await t.app.inject({ url })).statusCode, 200, url);
  const models = await t.app.inject({ url: '/v1/models', headers: { authorization: 'Bearer key-one-0123456789' } });
  assert.equal(models.statusCode, 200);
});

test('AUTH_HEALTH and AUTH_METRICS put those routes behind the key too', async () => {
  const closed = await buildApp({ config: testConfig({ ...env, AUTH_HEALTH: 'true', AUTH_METRICS: 'true' }), lifecycle: t.lifecycle });
  try {
    for (const url of ['/health/live', '/health/ready', '/metrics']) {
      assert.equal((await closed.inject({ url })).statusCode, 401, url);
      assert.equal((await closed.inject({ url, headers: { authorization: 'Bearer key-three-from-file' } })).statusCode, 200, url);
    }
  } finally {
    await closed.close();
  }
});

test('keys never reach the log', async () => {
  assert.equal((await score(logged, 'Bearer key-one-0123456789')).statusCode, 200);
  assert.equal((await score(logged, `Bearer ${WRONG}`)).statusCode, 403);
  assert.equal((await score(logged)).statusCode, 401);
  // Whatever logs a request's headers gets them redacted.
  logged.log.info({ request: { headers: { authorization: 'Bearer key-two-abcdefghij' } } }, 'headers');
  logged.log.info({ headers: { authorization: `Bearer ${WRONG}` } }, 'headers');
  const lines = logText.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    lines.filter((l) => l.msg === 'request').map((l) => l.status),
    [200, 403, 401],
  );
  assert.equal(lines.filter((l) => l.msg === 'headers' && JSON.stringify(l).includes('[redacted]')).length, 2);
  for (const secret of ['key-one-0123456789', 'key-two-abcdefghij', 'key-three-from-file', WRONG]) assert.ok(!logText.includes(secret), 'a key was logged');
});

test('key checks compare digests, so any lengths are safe; an unreadable key file is a config error', () => {
  const d = keyDigest;
  assert.equal(isValidKey('abc', [d('abc')]), true);
  assert.equal(isValidKey('abcd', [d('abc')]), false);
  assert.equal(isValidKey('', [d('abc'), d('')]), true);
  assert.throws(() => loadApiKeys({ apiKeys: '', apiKeysFile: '/no/such/keys' }), (e: Error) => e instanceof ConfigError && /API_KEYS_FILE \/no\/such\/keys \(ENOENT\)/.test(e.message));
});
