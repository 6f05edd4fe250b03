import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { MALLOC_VARIABLES } from '../../src/util/malloc-threshold.js';
import { projectRoot } from '../../src/util/project-root.js';
import { python } from './scale-models.js';
import { freePort, rssOf, type BenchServer } from './server.js';
import { sleep } from './stats.js';

/** bench/scale/transformers_server.py, up; `about` is its first line (versions, threads, attention). */
export interface TransformersServer extends BenchServer {
  about: string;
}

/**
 * Starts the transformers + FastAPI server of a checkpoint with torch threads = cores; resolves
 * once GET /health is 200.
 */
export async function startTransformersServer(checkpointDir: string, maxLength: number, readyTimeoutS = 600): Promise<TransformersServer> {
  const port = await freePort();
  const script = path.join(projectRoot(), 'bench', 'scale', 'transformers_server.py');
  const args = [script, checkpointDir, '--port', String(port), '--threads', String(os.availableParallelism()), '--max-length', String(maxLength)];
  // glibc's defaults, as a user would run it: the bench process may carry the service's malloc settings.
  const env = { ...process.env };
  for (const v of MALLOC_VARIABLES) delete env[v.env];
  const proc = spawn(python(), args, { cwd: projectRoot(), env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-4000));
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const base = `http://127.0.0.1:${port}`;
  const server: TransformersServer = {
    base,
    proc,
    about: '',
    rssBytes: () => rssOf(proc.pid),
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      // uvicorn waits for requests in flight; the bench does not.
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
  const t0 = performance.now();
  while (performance.now() - t0 < readyTimeoutS * 1000) {
    if (proc.exitCode !== null) throw new Error(`transformers server exited ${proc.exitCode}: ${out.trim().slice(-1500)}`);
    try {
      if ((await fetch(`${base}/health`)).status === 200) {
        server.about = out.split('\n').find((l) => l.startsWith('serving ')) ?? '';
        return server;
      }
    } catch {
      /* not listening yet */
    }
    await sleep(200);
  }
  await server.stop();
  throw new Error(`transformers server not ready in ${readyTimeoutS} s: ${out.trim().slice(-1500)}`);
}
