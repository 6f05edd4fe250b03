// `npm run soak -- --attack`: one attacker at a time repeats the worst request of each kind
// (issue 14) while a victim scores one item per request on its own keep-alive connection;
// reports the victim's p50/p99 and success rate per kind, the attacker's statuses, and whether
// the server survived and exits 0 on a SIGTERM sent with an upload still arriving.
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { deepLabels, hugeWeight, manyWeights } from './attack-bodies.js';

/** What the attack run needs from soak.ts. */
export interface AttackOptions {
  port: number;
  /** Seconds per kind of attack. */
  seconds: number;
  proc: ChildProcess;
  exited: Promise<number | null>;
  log: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

/** A POST on a fresh connection; resolves with the status, or the error code. */
function post(port: number, path: string, body: string, agent: http.Agent | false = false): Promise<string> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(String(res.statusCode)));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    req.end(body);
  });
}

/** A raw socket that sends `head` then one byte every `dripMs`, until the server closes it or `stop()`. */
function trickle(port: number, head: string, dripMs: number): { done: Promise<string>; stop: () => void } {
  const s = net.connect(port, '127.0.0.1');
  let got = '';
  s.on('data', (d) => (got += d));
  s.on('error', () => {});
  s.on('connect', () => s.write(head));
  const drip = setInterval(() => s.writable && s.write(' '), dripMs);
  const done = new Promise<string>((r) =>
    s.once('close', () => {
      clearInterval(drip);
      r(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 'closed');
    }),
  );
  return { done, stop: () => s.destroy() };
}

type Attacker = (port: number, until: number, count: (status: string) => void) => Promise<void>;

const LIMIT = 16 * 1024 * 1024 - 64;
const repeat = (path: string, body: () => string): Attacker => async (port, until, count) => {
  const b = body();
  while (performance.now() < until) count(await post(port, path, b));
};

/** The worst request of each kind, repeated by one attacker. */
const ATTACKS: Record<string, Attacker> = {
  'deep labels (16 MiB, 8.4 M levels)': repeat('/get_reward', () => deepLabels(LIMIT)),
  'weights with 1.38 M keys (16 MiB)': repeat('/score', () => manyWeights(LIMIT)),
  'huge finite weight': repeat('/score', () => hugeWeight('reward')),
  'malformed HTTP': async (port, until, count) => {
    while (performance.now() < until) {
      const t = trickle(port, 'POST /score HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n', 1e9);
      count(await t.done);
    }
  },
  'abandoned requests': async (port, until, count) => {
    while (performance.now() < until) {
      const t = trickle(port, 'POST /score HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"items"', 1e9);
      await sleep(20);
      t.stop();
      count(await t.done);
    }
  },
  'bodies trickled byte by byte (200 at once)': async (port, until, count) => {
    while (performance.now() < until) {
      const ts = Array.from({ length: 200 }, () => trickle(port, 'POST /score HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{', 100));
      const left = Math.max(0, until - performance.now());
      const all = Promise.all(ts.map((t) => t.done.then(count)));
      await Promise.race([all, sleep(left)]);
      for (const t of ts) t.stop();
      await all;
    }
  },
  'idle connection flood (2000 sockets)': async (port, until, count) => {
    while (performance.now() < until) {
      const ts = Array.from({ length: 2000 }, () => trickle(port, '', 1e9));
      await Promise.race([Promise.all(ts.map((t) => t.done.then(count))), sleep(Math.max(0, until - performance.now()))]);
      for (const t of ts) t.stop();
      await sleep(10);
    }
  },
};

/** Runs every attack in turn with a victim scoring alongside, then a SIGTERM with an upload open. */
export async function runAttack(o: AttackOptions): Promise<void> {
  const victimBody = JSON.stringify({ items: [{ prompt: 'How do I bake bread?', response: 'Mix flour, water, salt and yeast; knead, proof, bake.' }] });
  let fiveHundreds = 0;
  o.log(`attack: ${Object.keys(ATTACKS).length} kinds, ${o.seconds} s each, one attacker at a time; victim: one item per request, sequential, keep-alive`);
  o.log('kind | victim requests | victim success | victim p50 / p99 ms | attacker statuses');
  for (const [kind, attack] of Object.entries(ATTACKS)) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await post(o.port, '/score', victimBody, agent); // the victim's connection is open before the attack
    const until = performance.now() + o.seconds * 1000;
    const statuses = new Map<string, number>();
    const count = (s: string) => {
      statuses.set(s, (statuses.get(s) ?? 0) + 1);
      if (/^5\d\d$/.test(s)) fiveHundreds++;
    };
    const attacker = attack(o.port, until, count);
    const lat: number[] = [];
    let ok = 0;
    while (performance.now() < until) {
      const t0 = performance.now();
      const s = await post(o.port, '/score', victimBody, agent);
      lat.push(performance.now() - t0);
      if (s === '200') ok++;
      else if (/^5\d\d$/.test(s)) fiveHundreds++;
    }
    await attacker;
    agent.destroy();
    const st = [...statuses].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}: ${v}`).join(', ');
    o.log(`${kind} | ${lat.length} | ${((100 * ok) / Math.max(1, lat.length)).toFixed(1)}% | ${pct(lat, 50).toFixed(0)} / ${pct(lat, 99).toFixed(0)} | ${st}`);
    if (o.proc.exitCode !== null) {
      o.log(`server exited (${o.proc.exitCode}) during "${kind}"`);
      return;
    }
    await sleep(500);
  }
  o.log(`5xx seen by victim or attacker (by design only 503 while draining, 504 for timeout_ms): ${fiveHundreds}`);
  const upload = trickle(o.port, 'POST /score HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{', 100);
  await sleep(200);
  const t0 = performance.now();
  o.proc.kill('SIGTERM');
  const code = await o.exited;
  o.log(`SIGTERM with an upload arriving: exit ${code} after ${(performance.now() - t0).toFixed(0)} ms; the upload got ${await upload.done}`);
}
