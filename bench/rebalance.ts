// Rebalancing after scale-out: two replicas of the real server behind nginx's stream (TCP)
// round-robin balancer on loopback, as a Kubernetes Service balances connections. Replica A
// serves `clients` keep-alive one-item clients alone for --before seconds, then replica B
// starts; every --every seconds it prints each replica's share of the items scored (read from
// each replica's own /metrics), and at the end the requests that failed. With connections held
// forever B would get nothing; MAX_CONNECTION_AGE_MS makes clients reconnect. Prints figures;
// asserts nothing. Needs Debian's nginx and libnginx-mod-stream.
//
//   npm run bench:rebalance -- [--seconds 60] [--before 10] [--clients 64] [--every 5]
//   (server settings via env, e.g. MAX_CONNECTION_AGE_MS=0 for the before figure)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LoadClient } from './lib/http-client.js';
import { freePort, startServer, type BenchServer } from './lib/server.js';
import { sleep } from './lib/stats.js';

const { values: a } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    before: { type: 'string', default: '10' },
    clients: { type: 'string', default: '64' },
    every: { type: 'string', default: '5' },
    nginx: { type: 'string', default: '/usr/sbin/nginx' },
    'stream-module': { type: 'string', default: '/usr/lib/nginx/modules/ngx_stream_module.so' },
  },
});
const seconds = Number(a.seconds);
const every = Number(a.every);

async function scored(s: BenchServer | null): Promise<number> {
  if (!s) return 0;
  const text = await (await fetch(`${s.base}/metrics`)).text();
  return [...text.matchAll(/^reward_inferred_items_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

const [portA, portB, portLb] = [await freePort(), await freePort(), await freePort()];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rebalance-'));
fs.writeFileSync(
  path.join(dir, 'nginx.conf'),
  `load_module ${a['stream-module']};
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
stream {
  upstream replicas {
    server 127.0.0.1:${portA} max_fails=1 fail_timeout=2s;
    server 127.0.0.1:${portB} max_fails=1 fail_timeout=2s;
  }
  server { listen 127.0.0.1:${portLb}; proxy_pass replicas; proxy_connect_timeout 1s; }
}
`,
);
const nginx = spawn(a.nginx, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')], { stdio: 'inherit' });
const A = await startServer({}, portA);
let B: BenchServer | null = null;
console.log(`replica A :${portA}, replica B :${portB} (not started), nginx stream round-robin :${portLb}; ${a.clients} keep-alive one-item clients; MAX_CONNECTION_AGE_MS=${process.env.MAX_CONNECTION_AGE_MS ?? 'default'}`);

const client = new LoadClient(`http://127.0.0.1:${portLb}`);
const body = JSON.stringify({ items: [{ prompt: 'How do I boil an egg?', response: 'Simmer it for nine minutes, then cool it in cold water.' }] });
const statuses = new Map<string, number>();
let stop = false;
const loops = Array.from({ length: Number(a.clients) }, async () => {
  while (!stop) {
    const s = await client.request('POST', '/score', body).then(String, (e: Error) => `error: ${e.message}`);
    statuses.set(s, (statuses.get(s) ?? 0) + 1);
  }
});

await sleep(Number(a.before) * 1000);
const t0 = performance.now();
B = await startServer({}, portB);
console.log(`replica B ready after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
let [lastA, lastB] = [await scored(A), await scored(B)];
const rows: { t: number; a: number; b: number; shareB: number }[] = [];
while (performance.now() - t0 < seconds * 1000) {
  await sleep(every * 1000);
  const [nowA, nowB] = [await scored(A), await scored(B)];
  const [da, db] = [nowA - lastA, nowB - lastB];
  [lastA, lastB] = [nowA, nowB];
  const row = { t: Math.round((performance.now() - t0) / 1000), a: da, b: db, shareB: db / Math.max(1, da + db) };
  rows.push(row);
  console.log(`  t=${String(row.t).padStart(3)} s after B started: A ${da} items, B ${db} items, B's share ${(100 * row.shareB).toFixed(1)}%`);
}
stop = true;
await Promise.all(loops);
client.close();
const first40 = rows.find((r) => r.shareB >= 0.4);
console.log(`B's share reached 40% ${first40 ? `${first40.t} s after it started` : 'never'}; statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
nginx.kill('SIGTERM');
await Promise.all([A.stop(), B.stop()]);
fs.rmSync(dir, { recursive: true, force: true });
