import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT, filler } from '../helpers/app.js';
import { all, execForm } from '../helpers/dockerfile.js';
import { local, outerEnv, replay, snapshot, tempDir } from '../helpers/image-replay.js';
import { freePort } from '../helpers/process.js';

// The CPU image's steps as written (npm ci, npm ci --omit=dev, npm run build), in a clean
// folder, then its CMD and its HEALTHCHECK. npm may use its warm cache (CI has just run npm ci);
// it falls back to the registry for anything missing.
test('docker/Dockerfile replayed: production install, build, start, health check, nothing written', { timeout: 300_000 }, async () => {
  const root = tempDir('reward-image-');
  const scratch = tempDir('reward-image-tmp-'); // the container's /tmp and HOME: must stay empty
  try {
    const stages = replay(path.join(ROOT, 'docker', 'Dockerfile'), root, { npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' });
    const image = stages.at(-1)!;
    const app = image.dir;

    // Only production packages, and no sources or tests in the image.
    assert.ok(fs.existsSync(path.join(app, 'node_modules', 'onnxruntime-node')));
    for (const dev of ['typescript', 'yaml', '@types']) assert.equal(fs.existsSync(path.join(app, 'node_modules', dev)), false, `${dev} is a dev dependency`);
    for (const absent of ['src', 'test', 'tsconfig.json', 'models/data', 'dist/test']) assert.equal(fs.existsSync(path.join(app, absent)), false, absent);
    assert.ok(fs.existsSync(path.join(app, 'models', 'default', 'model.onnx')));

    const port = await freePort();
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: scratch, TMPDIR: scratch };
    for (const [k, v] of Object.entries(image.env)) env[k] = v.startsWith('/') ? local(image, v) : v;
    // Loopback only in a test; the image's 0.0.0.0 is checked by dockerfile.test.ts.
    Object.assign(env, { HOST: '127.0.0.1', PORT: String(port), INTRA_OP_THREADS: '1', LOG_LEVEL: 'warn' });

    const health = execForm(all(image.stage, 'HEALTHCHECK')[0]!);
    const healthy = () => spawnSync(process.execPath, health.slice(1), { env: { ...outerEnv(), PORT: String(port) }, timeout: 10_000 }).status === 0;
    assert.equal(healthy(), false, 'the health check fails while nothing listens');

    const before = snapshot(app);
    const cmd = execForm(all(image.stage, 'CMD').at(-1)!);
    assert.equal(cmd[0], 'node');
    const proc = spawn(process.execPath, cmd.slice(1), { cwd: app, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 120_000;
      while (!healthy()) {
        assert.equal(proc.exitCode, null, `server exited: ${stderr.slice(0, 500)}`);
        assert.ok(Date.now() < deadline, 'ready within 120 s');
        await new Promise((r) => setTimeout(r, 250));
      }
      const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
      assert.equal(ready.status, 200);
      const scored = await fetch(`http://127.0.0.1:${port}/score`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ items: [{ prompt: filler(1, 8), response: filler(2, 12) }] }),
      });
      assert.equal(scored.status, 200);
      assert.equal(((await scored.json()) as { rewards: number[] }).rewards.length, 1);
      assert.equal((await fetch(`http://127.0.0.1:${port}/openapi.yaml`)).status, 200, 'openapi.yaml is in the image');
    } finally {
      proc.kill('SIGTERM');
    }
    assert.equal(await exited, 0, 'SIGTERM drains and exits 0');
    assert.deepEqual(snapshot(app), before, 'the service wrote nothing under /app (read-only root filesystem)');
    assert.deepEqual(fs.readdirSync(scratch), [], 'nor in /tmp or HOME');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(scratch, { recursive: true, force: true });
  }
});
