// SIGTERM with uploads still arriving: they are not accepted work and must not hold the shutdown.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnServer } from '../helpers/process.js';
import { collect, connect } from '../helpers/raw-http.js';

test('SIGTERM with an unfinished upload: the upload gets 503 and is closed, and the process exits 0 promptly', async () => {
  // Default grace (30 s) and long timeouts: only the drain itself may end the upload.
  const s = await spawnServer({ REQUEST_TIMEOUT_MS: '600000', HEADERS_TIMEOUT_MS: '600000' });
  await s.waitFor(/"model ready"/);
  const sock = await connect(s.port);
  const reply = collect(sock, 20_000);
  sock.write('POST /score HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{"items":[');
  await new Promise((r) => setTimeout(r, 200));
  const t0 = performance.now();
  s.proc.kill('SIGTERM');
  const code = await s.exited;
  const ms = performance.now() - t0;
  assert.equal(code, 0, s.stdout().slice(-1500));
  assert.ok(ms < 10_000, `exited after ${Math.round(ms)} ms; the grace is 30 s`);
  const r = await reply;
  assert.ok(r.status === 503 || r.status === null, r.text);
  if (r.status === 503) assert.equal((r.body as { error: { code: string } }).error.code, 'shutting_down');
  assert.doesNotMatch(s.stdout(), /work still queued/);
});

test('grace over with only a half-sent request open: nothing accepted was left, so exit 0 without "work still queued"', async () => {
  const s = await spawnServer({ SHUTDOWN_GRACE_MS: '300', REQUEST_TIMEOUT_MS: '600000', HEADERS_TIMEOUT_MS: '600000' });
  await s.waitFor(/"model ready"/);
  const sock = await connect(s.port);
  const reply = collect(sock, 20_000);
  sock.write('GET /health/live HTTP/1.1\r\nhost: x\r\n'); // headers never finished
  await new Promise((r) => setTimeout(r, 200));
  s.proc.kill('SIGTERM');
  assert.equal(await s.exited, 0, s.stdout().slice(-1500));
  assert.doesNotMatch(s.stdout(), /work still queued/);
  await reply;
});
