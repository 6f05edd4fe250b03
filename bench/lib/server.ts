import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { projectRoot } from '../../src/util/project-root.js';
import { sleep } from './stats.js';

/** The real server (dist/src/server.js) in its own process. */
export interface BenchServer {
  base: string;
  proc: ChildProcess;
  /** Resident set size of the whole process (all its threads), in bytes. */
  rssBytes(): number;
  stop(): Promise<void>;
}

/** Resident set size of process `pid` (all its threads), in bytes; NaN once it is gone. */
export function rssOf(pid: number | undefined): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** A variable of process `pid`'s environment as the kernel holds it now (after any execve); null when unset or unreadable. */
export function envOf(pid: number | undefined, name: string): string | null {
  try {
    const pair = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((p) => p.startsWith(`${name}=`));
    return pair === undefined ? null : pair.slice(name.length + 1);
  } catch {
    return null;
  }
}

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Starts the server with `env` over this process's environment; resolves once /health/ready is 200. */
export async function startServer(env: Record<string, string> = {}, port?: number): Promise<BenchServer> {
  port ??= await freePort();
  const root = projectRoot();
  let err = '';
  const proc = spawn(process.execPath, [...(process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []), path.join(root, 'dist', 'src', 'server.js')], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr!.on('data', (d) => (err = (err + d).slice(-2000)));
  const base = `http://127.0.0.1:${port}`;
  const server: BenchServer = {
    base,
    proc,
    rssBytes: () => rssOf(proc.pid),
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    },
  };
  for (let i = 0; i < 1200; i++) {
    if (proc.exitCode !== null) throw new Error(`server exited ${proc.exitCode}: ${err}`);
    try {
      if ((await fetch(`${base}/health/ready`)).status === 200) return server;
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
  await server.stop();
  throw new Error('server did not become ready in 120 s');
}

/** Runs `fn` against a fresh server and always stops it. */
export async function withServer<T>(env: Record<string, string>, fn: (s: BenchServer) => Promise<T>): Promise<T> {
  const s = await startServer(env);
  try {
    return await fn(s);
  } finally {
    await s.stop();
  }
}
