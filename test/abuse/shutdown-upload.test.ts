// SIGTERM with uploads still arriving: they are not accepted work and must not hold the shutdown.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnServer } from '../helpers/process.js';
import { connect } from '../helpers/raw-http.js';
import { until } from '../helpers/until.js';

test('SIGTERM with an unfinished upload: the upload gets 503 and is closed, and the process exits 0 without waiting out the grace', { timeout: 60_000 }, async () => {
  // Default grace (30 s) and 10-minute timeouts: only the drain itself may end the upload.
  const s = await spawnServer({ REQUEST_TIMEOUT_MS: '600000', HEADERS_TIMEOUT_MS: '600000' });
  await s.waitFor(/"model ready"/);
  const sock = await connect(s.port);
  sock.setEncoding('utf8');
  let got = '';
  sock.on('data', (d: string) => (got += d));
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  // "100 Continue" is written as the server emits the request: the upload is known to it before the signal.
  sock.write('POST /score HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\nexpect: 100-continue\r\n\r\n');
  while (!got.includes('\r\n\r\n')) await new Promise((r) => setTimeout(r, 10));
  assert.match(got, /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
  sock.write('{"items":[');
  s.proc.kill('SIGTERM');
  const code = await s.exited;
  await closed;
  assert.equal(code, 0, s.stdout().slice(-1500));
  const reply = got.slice(got.indexOf('\r\n\r\n') + 4);
  assert.match(reply, /^HTTP\/1\.1 503 /, reply);
  assert.equal(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)).error.code, 'shutting_down');
  // Cut by the drain, and the close did not wait for the grace (which would log that it ran out).
  assert.match(s.stdout(), /"uploads":1,.*"closed connections still sending a request body"/);
  assert.match(s.stdout(), /"msg":"stopped"/);
  assert.doesNotMatch(s.stdout(), /grace period over|work still queued/);
});

test('grace over with only a half-sent request open: nothing accepted was left, so exit 0 without "work still queued"', async () => {
  const s = await spawnServer({ SHUTDOWN_GRACE_MS: '300', REQUEST_TIMEOUT_MS: '600000', HEADERS_TIMEOUT_MS: '600000' });
  await s.waitFor(/"model ready"/);
  const sock = await connect(s.port);
  sock.setEncoding('utf8');
  let got = '';
  sock.on('data', (d: string) => (got += d));
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  // One write: a whole request, then a second whose headers never finish. The first's answer
  // means the server has read both (one segment), so the second is open before the signal.
  sock.write('GET /health/live HTTP/1.1\r\nhost: x\r\n\r\nGET /health/live HTTP/1.1\r\nhost: x\r\n');
  await until(() => /^HTTP\/1\.1 200 [^]*\r\n\r\n[^]*"status"/.test(got));
  s.proc.kill('SIGTERM');
  assert.equal(await s.exited, 0, s.stdout().slice(-1500));
  await closed;
  // The half-sent request held the close until the grace ran out, and was not counted as work.
  assert.match(s.stdout(), /grace period over with no accepted request left/);
  assert.doesNotMatch(s.stdout(), /work still queued/);
});
