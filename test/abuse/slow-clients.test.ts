// Clients that hold sockets: trickled bodies, slow headers, malformed HTTP, a connection flood.
// Against the real server process with small timeouts, over real sockets on 127.0.0.1.
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, before, test } from 'node:test';
import { spawnServer, type ServerProcess } from '../helpers/process.js';
import { collect, connect, rawRequest } from '../helpers/raw-http.js';

let s: ServerProcess;
const MAX_CONNECTIONS = 24;
before(async () => {
  s = await spawnServer({
    REQUEST_TIMEOUT_MS: '1000',
    HEADERS_TIMEOUT_MS: '500',
    KEEP_ALIVE_TIMEOUT_MS: '20000',
    MAX_CONNECTIONS: String(MAX_CONNECTIONS),
  });
  await s.waitFor(/"model ready"/);
});
after(async () => {
  s.proc.kill('SIGTERM');
  assert.equal(await s.exited, 0);
});

const metric = async (re: RegExp) => Number(re.exec(await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text())?.[1] ?? 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a body trickled byte by byte is cut by REQUEST_TIMEOUT_MS with 408 request_timeout, and logged once', async () => {
  const sock = await connect(s.port);
  const reply = collect(sock, 8000);
  sock.write(`POST /score HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{`);
  const drip = setInterval(() => sock.writable && sock.write(' '), 50);
  const r = await reply;
  clearInterval(drip);
  assert.ok(r.closedAfterMs < 5000, `closed after ${Math.round(r.closedAfterMs)} ms (REQUEST_TIMEOUT_MS 1000)`);
  assert.equal(r.status, 408);
  assert.deepEqual((r.body as { error: { code: string } }).error.code, 'request_timeout');
  await s.waitFor(/"status":408/);
  assert.equal(await metric(/reward_failures_total\{reason="request_timeout",model="none"\} (\d+)/), 1);
});

test('headers sent slowly are cut by HEADERS_TIMEOUT_MS', async () => {
  const sock = await connect(s.port);
  const reply = collect(sock, 8000);
  sock.write('GET /health/live HTTP/1.1\r\nhost: x\r\n');
  const drip = setInterval(() => sock.writable && sock.write('x-a: b\r\n'), 100);
  const r = await reply;
  clearInterval(drip);
  assert.ok(r.closedAfterMs < 5000, `closed after ${Math.round(r.closedAfterMs)} ms (HEADERS_TIMEOUT_MS 500)`);
  assert.ok(r.status === 408 || r.status === null, r.text);
});

test('malformed HTTP gets the envelope: bad chunked encoding, an invalid header, headers too large', async () => {
  const chunked = await rawRequest(s.port, 'POST /score HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n');
  assert.equal(chunked.status, 400, chunked.text);
  assert.equal((chunked.body as { error: { code: string } }).error.code, 'bad_request');
  const header = await rawRequest(s.port, 'GET /health/live HTTP/1.1\r\nhost: x\r\nno colon here\r\n\r\n');
  assert.equal(header.status, 400, header.text);
  assert.equal((header.body as { error: { code: string } }).error.code, 'bad_request');
  const big = await rawRequest(s.port, `GET /health/live HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
  assert.equal(big.status, 431, big.text);
  assert.equal((big.body as { error: { code: string } }).error.code, 'headers_too_large');
  // Routing errors were already the envelope; an unknown method on a known path too.
  const method = await rawRequest(s.port, 'DELETE /score HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
  assert.equal(method.status, 404);
  assert.equal((method.body as { error: { code: string } }).error.code, 'not_found');
});

test('a client that leaves before its response gets an access-log line with 499, counted once', async () => {
  const before499 = await metric(/reward_http_request_duration_seconds_count\{route="\/score",method="POST",status="499",model="none"\} (\d+)/);
  const beforeClosed = await metric(/reward_failures_total\{reason="client_closed",model="none"\} (\d+)/);
  // It leaves mid-body, before its model was looked up: counted under model "none".
  const sock = await connect(s.port);
  sock.write(`POST /score HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"items"`);
  await sleep(100);
  sock.destroy();
  await s.waitFor(/"status":499/);
  await sleep(100);
  assert.equal(await metric(/reward_http_request_duration_seconds_count\{route="\/score",method="POST",status="499",model="none"\} (\d+)/), before499 + 1);
  assert.equal(await metric(/reward_failures_total\{reason="client_closed",model="none"\} (\d+)/), beforeClosed + 1);
});

test('a connection flood past MAX_CONNECTIONS is refused at once while a victim on its own connection keeps scoring', async () => {
  // The victim's keep-alive connection is open before the flood.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const score = () =>
    new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: s.port, path: '/score', method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ items: [{ text: 'a victim item' }] }));
    });
  assert.equal(await score(), 200);
  const flood: net.Socket[] = [];
  const closedAtOnce: Promise<number>[] = [];
  for (let i = 0; i < MAX_CONNECTIONS * 3; i++) {
    const sock = await connect(s.port).catch(() => null);
    if (!sock) continue;
    // Flowing, so the server's FIN is read and the socket closes: a paused socket may never see it.
    sock.resume();
    flood.push(sock);
    const t0 = performance.now();
    closedAtOnce.push(new Promise((r) => sock.once('close', () => r(performance.now() - t0))));
  }
  const statuses: number[] = [];
  for (let i = 0; i < 10; i++) statuses.push(await score());
  assert.deepEqual(statuses, Array(10).fill(200), 'the victim scored every time');
  const refused = await metric(/reward_connections_refused_total\{reason="max_connections"\} (\d+)/);
  assert.ok(refused >= MAX_CONNECTIONS, `refused ${refused}`);
  // Idle flood sockets that got in are closed by the header timeout; none is held.
  const closed = await Promise.race([Promise.all(closedAtOnce), sleep(8000).then(() => null)]);
  assert.ok(closed, 'every flood socket was closed by the server');
  for (const f of flood) f.destroy();
  agent.destroy();
  const live = await fetch(`http://127.0.0.1:${s.port}/health/live`);
  assert.equal(live.status, 200);
});
