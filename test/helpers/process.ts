import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { ROOT } from './app.js';

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/** The real server process (dist/src/server.js), its output collected. */
export interface ServerProcess {
  proc: ChildProcess;
  port: number;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  /** Resolves once stdout has a line matching `re`; rejects if the process exits first. */
  waitFor(re: RegExp): Promise<void>;
}

export async function spawnServer(env: Record<string, string>, args: string[] = []): Promise<ServerProcess> {
  const port = await freePort();
  const proc = spawn(process.execPath, [path.join(ROOT, 'dist', 'src', 'server.js'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, PORT: String(port), INTRA_OP_THREADS: '1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return {
    proc,
    port,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitFor(re) {
      while (!re.test(out)) {
        if (proc.exitCode !== null) throw new Error(`server exited (${proc.exitCode}): ${err.slice(0, 500)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}
