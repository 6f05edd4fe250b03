import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, helpText, loadConfig } from '../src/config.js';

test('defaults, environment, then flags; the result is frozen', () => {
  const c = loadConfig({ MAX_BATCH_SIZE: '32', PORT: '9000' }, ['--max-batch-size', '16']);
  assert.equal(c.maxBatchSize, 16);
  assert.equal(c.port, 9000);
  assert.equal(c.maxWaitMs, 2);
  assert.equal(c.warmup, true);
  assert.ok(Object.isFrozen(c));
  assert.throws(() => {
    (c as { port: number }).port = 1;
  }, TypeError);
});

test('an invalid value names the setting and the accepted range', () => {
  assert.throws(() => loadConfig({ MAX_WAIT_MS: '-1' }), (e: Error) => e instanceof ConfigError && /MAX_WAIT_MS.*integer from 0 to 10000/.test(e.message));
  assert.throws(() => loadConfig({ PORT: 'eighty' }), /PORT \(--port\) = "eighty": expected an integer from 0 to 65535/);
  assert.throws(() => loadConfig({ LOG_LEVEL: 'loud' }), /LOG_LEVEL.*one of fatal, error, warn, info, debug, trace, silent/);
  assert.throws(() => loadConfig({}, ['--no-such-flag', '1']), /no-such-flag/);
  assert.throws(() => loadConfig({ MAX_QUEUE_ITEMS: '10', MAX_ITEMS_PER_REQUEST: '6' }), /MAX_ITEMS_PER_REQUEST.*at most half of MAX_QUEUE_ITEMS \(10\)/);
  assert.equal(loadConfig({ MAX_QUEUE_ITEMS: '10', MAX_ITEMS_PER_REQUEST: '5' }).maxItemsPerRequest, 5);
});

test('--help lists every setting with its default', () => {
  const help = helpText();
  for (const flag of ['--model-dir', '--port', '--max-batch-size', '--max-batch-tokens', '--max-wait-ms', '--max-queue-items', '--intra-op-threads', '--infer-workers', '--tokenizer-workers', '--max-body-bytes', '--max-items-per-request', '--max-chars-per-text', '--shutdown-grace-ms', '--max-timeout-ms', '--max-event-loop-delay-ms', '--api-keys', '--api-keys-file', '--auth-health', '--auth-metrics', '--cors-origins']) {
    assert.match(help, new RegExp(`${flag} \\(`));
  }
});

test('security settings are off by default', () => {
  const c = loadConfig({});
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.apiKeys, '');
  assert.equal(c.apiKeysFile, '');
  assert.equal(c.corsOrigins, '');
  assert.equal(c.authHealth, false);
  assert.equal(c.authMetrics, false);
  assert.match(helpText(), /--api-keys \(API_KEYS\) .*; a string; default \n/);
});

test('an INFER_WORKERS that is neither auto nor a count names both', () => {
  assert.throws(() => loadConfig({ INFER_WORKERS: 'many' }), /INFER_WORKERS \(--infer-workers\) = "many": expected auto or an integer from 1 to 64/);
});

test('MODELS lists several folders (else MODEL_DIR alone); ENSEMBLES name groups of them', () => {
  const one = loadConfig({ MODEL_DIR: 'm/x' });
  assert.deepEqual(one.models, ['m/x']);
  assert.deepEqual(one.ensembles, []);
  assert.equal(one.defaultModel, '');
  const many = loadConfig({ MODELS: 'm/a, m/b ,m/c', ENSEMBLES: 'duo=a+b, all=a+b+c', ENSEMBLE_K: '0.5', DEFAULT_MODEL: 'duo' });
  assert.deepEqual(many.models, ['m/a', 'm/b', 'm/c']);
  assert.deepEqual(many.ensembles, [
    { name: 'duo', members: ['a', 'b'] },
    { name: 'all', members: ['a', 'b', 'c'] },
  ]);
  assert.equal(many.ensembleK, 0.5);
  assert.equal(many.defaultModel, 'duo');
  assert.ok(Object.isFrozen(many.models) && Object.isFrozen(many.ensembles));
  assert.deepEqual(loadConfig({ ENSEMBLES: 'org/duo=org/rm-a+rm_b.v2' }).ensembles, [{ name: 'org/duo', members: ['org/rm-a', 'rm_b.v2'] }]);
  assert.throws(() => loadConfig({ ENSEMBLES: 'solo=a' }), /ENSEMBLES \(--ensembles\) = "solo=a": expected comma-separated name=model\+model/);
  assert.throws(() => loadConfig({ ENSEMBLE_K: '-1' }), /ENSEMBLE_K.*a number from 0 to 100/);
});
