import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { buildApp } from '../../src/app.js';
import { Lifecycle } from '../../src/core/lifecycle.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { testConfig } from '../helpers/app.js';

test('a 503 the service reports on purpose is logged without a stack; probes do not flood the log', async () => {
  let text = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      cb();
    },
  });
  // A lifecycle that never becomes ready: what every probe sees while a model loads.
  const app = await buildApp({ config: testConfig(), lifecycle: new Lifecycle(createMetrics()), logger: createLogger('info', sink) });
  try {
    for (let i = 0; i < 3; i++) assert.equal((await app.inject({ url: '/health/ready' })).statusCode, 503);
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const refused = lines.filter((l) => l.msg === 'request refused');
    assert.equal(refused.length, 3);
    assert.ok(refused.every((l) => l.level === 30 && l.code === 'not_ready' && !('err' in l)));
    assert.equal(lines.filter((l) => (l.level as number) >= 50).length, 0, 'nothing at error level');
  } finally {
    await app.close();
  }
});
