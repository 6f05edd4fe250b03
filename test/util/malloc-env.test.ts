import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { spawnServer, type ServerProcess } from '../helpers/process.js';
import { MALLOC_MMAP_THRESHOLD, thresholdFromEnv } from '../../src/util/malloc-env.js';

const hasExecve = typeof (process as unknown as { execve?: unknown }).execve === 'function';

/** The environment the kernel holds for the process now (after any execve). */
function environOf(pid: number): Map<string, string> {
  const pairs = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return new Map(pairs.map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
}

/** The `model ready` log line, parsed. */
function readyLine(s: ServerProcess): { malloc_mmap_threshold: string | null } {
  const line = s.stdout().split('\n').find((l) => l.includes('"model ready"'));
  assert.ok(line, 'no model ready line');
  return JSON.parse(line) as { malloc_mmap_threshold: string | null };
}

test('thresholdFromEnv: the variable, or glibc.malloc.mmap_threshold among GLIBC_TUNABLES', () => {
  assert.equal(thresholdFromEnv({}), null);
  assert.equal(thresholdFromEnv({ MALLOC_MMAP_THRESHOLD_: '' }), null);
  assert.equal(thresholdFromEnv({ MALLOC_MMAP_THRESHOLD_: '65536' }), '65536');
  assert.equal(thresholdFromEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=2097152' }), '2097152');
  assert.equal(thresholdFromEnv({ GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold_x=1' }), null);
});

test('the server starts with the malloc threshold set, same pid (Node with execve); else a large model warns', async (t) => {
  if (process.platform !== 'linux') return t.diagnostic('glibc only');
  // LARGE_MODEL_MB=1: the default model counts as large, as a real-size one would.
  const s = await spawnServer({ LARGE_MODEL_MB: '1' });
  try {
    await s.waitFor(/"model ready"/);
    const env = environOf(s.proc.pid!);
    const warned = new RegExp(`start the server with MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD}`).test(s.stdout());
    if (hasExecve) {
      assert.equal(env.get('MALLOC_MMAP_THRESHOLD_'), MALLOC_MMAP_THRESHOLD);
      assert.equal(readyLine(s).malloc_mmap_threshold, MALLOC_MMAP_THRESHOLD);
      assert.equal(warned, false);
    } else {
      t.diagnostic(`Node ${process.versions.node} has no process.execve: checking the warning`);
      assert.equal(env.has('MALLOC_MMAP_THRESHOLD_'), false);
      assert.equal(readyLine(s).malloc_mmap_threshold, null);
      assert.equal(warned, true);
    }
  } finally {
    s.proc.kill('SIGTERM');
    await s.exited;
  }
});

test('a threshold the environment sets is kept, and nothing warns', async (t) => {
  if (process.platform !== 'linux') return t.diagnostic('glibc only');
  const s = await spawnServer({ LARGE_MODEL_MB: '1', MALLOC_MMAP_THRESHOLD_: '4194304' });
  try {
    await s.waitFor(/"model ready"/);
    assert.equal(environOf(s.proc.pid!).get('MALLOC_MMAP_THRESHOLD_'), '4194304');
    assert.equal(readyLine(s).malloc_mmap_threshold, '4194304');
    assert.doesNotMatch(s.stdout(), /start the server with MALLOC_MMAP_THRESHOLD_/);
  } finally {
    s.proc.kill('SIGTERM');
    await s.exited;
  }
});
