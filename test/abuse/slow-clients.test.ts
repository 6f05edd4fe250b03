// Clients that hold sockets: trickled bodies, slow headers, malformed HTTP, a connection flood.
// Against the real server process with small timeouts, over real sockets on 127.0.0.1.
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, before, test } from 'node:test';
import { spawnServer, type ServerProcess } from '../helpers/process.js';
import { collect, connect, rawRequest } from '../helpers/raw-http.js';
import { until } from '../helpers/until.js';

let s: ServerProcess;
/** A server whose only short timeout is HEADERS_TIMEOUT_MS: a 408 from it can come from nothing else. */
let h: ServerProcess;
const MAX_CONNECTIONS = 24;
before(async () => {
  const start = async (env: Record<string, string>) => {
    const p = await spawnServer(env);
    await p.waitFor(/"model ready"/);
    return p;
  };
  [s, h] = await Promise.all([
    start({ REQUEST_TIMEOUT_MS: '1000', HEADERS_TIMEOUT_MS: '500', KEEP_ALIVE_TIMEOUT_MS: '20000', MAX_CONNECTIONS: String(MAX_CONNECTIONS) }),
    start({ HEADERS_TIMEOUT_MS: '500', REQUEST_TIMEOUT_MS: '600000', KEEP_ALIVE_TIMEOUT_MS: '600000' }),
  ]);
});
after(async () => {
  for (const p of [s, h]) p?.proc.kill('SIGTERM');
  assert.equal(await s.exited, 0);
  assert.equal(await h.exited, 0);
});

const metric = async (re: RegExp) => Number(re.exec(await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text())?.[1] ?? 0);

test('a body trickled byte by byte is cut by REQUEST_TIMEOUT_MS with 408 request_timeout, and logged once', async () => {
  const sock = await connect(s.port);
  const reply = collect(sock, 8000);
  sock.write(`POST /score HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{`);
  const drip = setInterval(() => sock.writable && sock.write(' '), 50);
  const r = await reply;
  clearInterval(drip);
  // Its headers were whole at once, so only REQUEST_TIMEOUT_MS could end it with a 408.
  assert.equal(r.status, 408, r.text);
  assert.deepEqual((r.body as { error: { code: string } }).error.code, 'request_timeout');
  await s.waitFor(/"status":408/);
  assert.equal(await metric(/reward_failures_total\{reason="request_timeout",model="none"\} (\d+)/), 1);
});

test('headers sent slowly are cut by HEADERS_TIMEOUT_MS with 408 request_timeout', async () => {
  // On server h, the request and keep-alive timeouts are 10 minutes, and the first-request timer
  // (also HEADERS_TIMEOUT_MS, which closes without a reply) is spent by a first request.
  const sock = await connect(h.port);
  sock.setEncoding('utf8');
  let got = '';
  sock.on('data', (d: string) => (got += d));
  sock.write('GET /health/live HTTP/1.1\r\nhost: x\r\n\r\n');
  const whole = () => got.includes('\r\n\r\n') && got.length - got.indexOf('\r\n\r\n') - 4 >= Number(/content-length: (\d+)/i.exec(got)?.[1] ?? Infinity);
  await until(whole); // the first reply, to its last byte
  assert.match(got, /^HTTP\/1\.1 200 /);
  const reply = collect(sock, 8000);
  sock.write('GET /health/live HTTP/1.1\r\nhost: x\r\n');
  const drip = setInterval(() => sock.writable && sock.write('x-a: b\r\n'), 100);
  const r = await reply;
  clearInterval(drip);
  assert.equal(r.status, 408, r.text);
  assert.equal((r.body as { error: { code: string } }).error.code, 'request_timeout');
  const m = await (await fetch(`http://127.0.0.1:${h.port}/metrics`)).text();
  assert.match(m, /^reward_failures_total\{reason="request_timeout",model="none"\} 1$/m);
  assert.doesNotMatch(m, /^reward_connections_refused_total\{reason="no_request"\}/m);
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
  // "100 Continue" is written as the server emits the request: it reached the route before the client leaves.
  const sock = await connect(s.port);
  const continued = new Promise<void>((r) => sock.once('data', () => r()));
  sock.write(`POST /score HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\nexpect: 100-continue\r\n\r\n`);
  await continued;
  sock.write('{"items"');
  sock.destroy();
  await s.waitFor(/"status":499/);
  await until(async () => (await metric(/reward_failures_total\{reason="client_closed",model="none"\} (\d+)/)) > beforeClosed);
  assert.equal(await metric(/reward_http_request_duration_seconds_count\{route="\/score",method="POST",status="499",model="none"\} (\d+)/), before499 + 1);
  assert.equal(await metric(/reward_failures_total\{reason="client_closed",model="none"\} (\d+)/), beforeClosed + 1);
});

test('a connection flood past MAX_CONNECTIONS is refused at once while a victim on its own connection keeps scoring', { timeout: 30_000 }, async () => {
  // The victim's keep-alive connection is open before the flood; /metrics is read over it too,
  // as a new connection would be refused while the flood holds every slot.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const call = (method: string, path: string, body?: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: s.port, path, method, agent, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  const score = async () => (await call('POST', '/score', JSON.stringify({ items: [{ text: 'a victim item' }] }))).status;
  assert.equal(await score(), 200);
  const refusedSoFar = async () => Number(/^reward_connections_refused_total\{reason="max_connections"\} (\d+)$/m.exec((await call('GET', '/metrics')).text)?.[1] ?? 0);
  const before = await refusedSoFar();
  const flood: net.Socket[] = [];
  const closedByServer: Promise<void>[] = [];
  for (let i = 0; i < MAX_CONNECTIONS * 3; i++) {
    const sock = await connect(s.port).catch(() => null);
    if (!sock) continue;
    // Flowing, so the server's FIN is read and the socket closes: a paused socket may never see it.
    sock.resume();
    flood.push(sock);
    closedByServer.push(new Promise((r) => sock.once('close', () => r())));
  }
  const statuses: number[] = [];
  for (let i = 0; i < 10; i++) statuses.push(await score());
  assert.deepEqual(statuses, Array(10).fill(200), 'the victim scored every time');
  const refused = (await refusedSoFar()) - before;
  assert.ok(refused >= MAX_CONNECTIONS, `refused ${refused}`);
  // Idle flood sockets that got in are closed by the header timeout; none is held (a socket the
  // server kept would hold this test until its timeout).
  await Promise.all(closedByServer);
  for (const f of flood) f.destroy();
  agent.destroy();
  const live = await fetch(`http://127.0.0.1:${s.port}/health/live`);
  assert.equal(live.status, 200);
});
