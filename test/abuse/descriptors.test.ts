// Out of descriptors: the real server under a low `ulimit -n` in a child process keeps running
// while connections are refused, and serves again once they close.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/app.js';
import { freePort } from '../helpers/process.js';
import { until } from '../helpers/until.js';

// 128, not 64: at 64 Node's ESM loader already runs out while importing zod's ~50 locale files
// at startup, before the server listens.
const ULIMIT = 128;

test(`at the descriptor limit (ulimit -n ${ULIMIT}) accept errors are survived: the process keeps serving`, async () => {
  const port = await freePort();
  const proc = spawn('bash', ['-c', `ulimit -n ${ULIMIT}; exec "${process.execPath}" dist/src/server.js`], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, PORT: String(port), INTRA_OP_THREADS: '1', LOG_LEVEL: 'info', HEADERS_TIMEOUT_MS: '60000', REQUEST_TIMEOUT_MS: '60000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  try {
    // Up to 90 s: a shared CI machine right after `npm ci` has been seen to take over 30 s to start.
    for (let i = 0; i < 4500 && !/"model ready"/.test(out); i++) {
      assert.equal(proc.exitCode, null, out.slice(-1000));
      await new Promise((r) => setTimeout(r, 20));
    }
    // Far more connections than descriptors, all at once; each stays open until the test closes it.
    let closedByServer = 0;
    const sockets = Array.from({ length: ULIMIT * 2 }, () => {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => {});
      s.once('close', () => closedByServer++);
      return s;
    });
    // Past a few event-loop monitor samples (1 s each), where the EMFILE used to be thrown.
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(proc.exitCode, null, `the server exited: ${out.slice(-1500)}`);
    // libuv accepts and closes what it has no descriptor for (its EMFILE trick).
    assert.ok(closedByServer > 0, 'connections beyond the descriptors were refused');
    for (const s of sockets) s.destroy();
    // Answers again once the server has closed its side of the flood.
    await until(async () => (await fetch(`http://127.0.0.1:${port}/health/live`).catch(() => null))?.status === 200);
    const score = await fetch(`http://127.0.0.1:${port}/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ items: [{ text: 'still here' }] }) });
    assert.equal(score.status, 200);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /^reward_http_request_duration_seconds_count\{route="\/score",method="POST",status="200",model="hh-tiny-harmless"\} 1$/m);
  } finally {
    proc.kill('SIGTERM');
    assert.equal(await exited, 0, out.slice(-1500));
  }
});
