// MAX_CONNECTION_AGE_MS: an old keep-alive connection is closed after its response, never during one.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, mock, test } from 'node:test';
import { startApp, type TestApp } from '../helpers/app.js';

const AGE_MS = 60_000;

function get(port: number, agent: http.Agent, path = '/health/live'): Promise<{ status: number; connection: string | undefined; socket: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, socket: req.socket }));
    });
    req.on('error', reject);
  });
}

let t: TestApp;
let port: number;
before(async () => {
  // Only Date is faked: connection ages are read from it, sockets and timers stay real.
  mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 });
  t = await startApp({ MAX_CONNECTION_AGE_MS: String(AGE_MS) });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.address() as AddressInfo).port;
});
after(async () => {
  await t.close();
  mock.timers.reset();
});

const recycled = async () => Number(/reward_connections_recycled_total (\d+)/.exec(await (await t.app.inject({ url: '/metrics' })).body)?.[1]);

test('a connection past its age gets Connection: close on its next response and the client reconnects', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const first = await get(port, agent);
  assert.equal(first.connection, 'keep-alive');
  const young = await get(port, agent);
  assert.equal(young.socket, first.socket, 'a young connection is kept');
  assert.equal(young.connection, 'keep-alive');

  mock.timers.tick(AGE_MS * 1.1 + 1); // past the age however its ±10% was drawn
  const old = await get(port, agent);
  assert.equal(old.status, 200, 'the request on the old connection is answered');
  assert.equal(old.socket, first.socket);
  assert.equal(old.connection, 'close');
  assert.equal(await recycled(), 1);

  const next = await get(port, agent);
  assert.notEqual(next.socket, first.socket, 'the client opened a new connection');
  assert.equal(next.connection, 'keep-alive');
  agent.destroy();
});

test('MAX_CONNECTION_AGE_MS=0 never closes a connection', async () => {
  const other = await startApp({ MAX_CONNECTION_AGE_MS: '0' });
  await other.app.listen({ host: '127.0.0.1', port: 0 });
  const p = (other.app.server.address() as AddressInfo).port;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const first = await get(p, agent);
  mock.timers.tick(86_400_000);
  const later = await get(p, agent);
  assert.equal(later.socket, first.socket);
  assert.equal(later.connection, 'keep-alive');
  agent.destroy();
  await other.close();
});
