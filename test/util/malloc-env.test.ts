import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { spawnServer, type ServerProcess } from '../helpers/process.js';
import { MALLOC_VARIABLES, mallocValueFromEnv, type MallocVariable } from '../../src/util/malloc-threshold.js';

const hasExecve = typeof (process as unknown as { execve?: unknown }).execve === 'function';
const [MMAP, TRIM] = MALLOC_VARIABLES as [MallocVariable, MallocVariable];

/** The environment the kernel holds for the process now (after any execve). */
function environOf(pid: number): Map<string, string> {
  const pairs = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return new Map(pairs.map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
}

interface ReadyLine {
  malloc_mmap_threshold: string | null;
  malloc_trim_threshold: string | null;
}

/** The `model ready` log line, parsed. */
function readyLine(s: ServerProcess): ReadyLine {
  const line = s.stdout().split('\n').find((l) => l.includes('"model ready"'));
  assert.ok(line, 'no model ready line');
  return JSON.parse(line) as ReadyLine;
}

test('mallocValueFromEnv: the variable, or its name among GLIBC_TUNABLES', () => {
  assert.equal(MMAP.env, 'MALLOC_MMAP_THRESHOLD_');
  assert.equal(TRIM.env, 'MALLOC_TRIM_THRESHOLD_');
  assert.equal(mallocValueFromEnv({}, MMAP), null);
  assert.equal(mallocValueFromEnv({ MALLOC_MMAP_THRESHOLD_: '' }, MMAP), null);
  assert.equal(mallocValueFromEnv({ MALLOC_MMAP_THRESHOLD_: '65536' }, MMAP), '65536');
  assert.equal(mallocValueFromEnv({ MALLOC_MMAP_THRESHOLD_: '65536' }, TRIM), null);
  const tunables = { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=2097152:glibc.malloc.trim_threshold=1048576' };
  assert.equal(mallocValueFromEnv(tunables, MMAP), '2097152');
  assert.equal(mallocValueFromEnv(tunables, TRIM), '1048576');
  assert.equal(mallocValueFromEnv({ GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold_x=1' }, MMAP), null);
  assert.equal(mallocValueFromEnv({ GLIBC_TUNABLES: 'glibcXmallocXmmap_threshold=1' }, MMAP), null);
});

test('the server starts with both malloc settings, same pid (Node with execve); else a large model warns', async (t) => {
  if (process.platform !== 'linux') return t.diagnostic('glibc only');
  // LARGE_MODEL_MB=1: the default model counts as large, as a real-size one would.
  const s = await spawnServer({ LARGE_MODEL_MB: '1' });
  try {
    await s.waitFor(/"model ready"/);
    const env = environOf(s.proc.pid!);
    const warned = new RegExp(`start the server with ${MMAP.env}=${MMAP.value} ${TRIM.env}=${TRIM.value}`).test(s.stdout());
    if (hasExecve) {
      assert.equal(env.get(MMAP.env), MMAP.value);
      assert.equal(env.get(TRIM.env), TRIM.value);
      assert.equal(readyLine(s).malloc_mmap_threshold, MMAP.value);
      assert.equal(readyLine(s).malloc_trim_threshold, TRIM.value);
      assert.equal(warned, false);
    } else {
      t.diagnostic(`Node ${process.versions.node} has no process.execve: checking the warning`);
      assert.equal(env.has(MMAP.env), false);
      assert.equal(env.has(TRIM.env), false);
      assert.equal(readyLine(s).malloc_mmap_threshold, null);
      assert.equal(readyLine(s).malloc_trim_threshold, null);
      assert.equal(warned, true);
    }
  } finally {
    s.proc.kill('SIGTERM');
    await s.exited;
  }
});

test('a setting the environment makes is kept; only the other one is added (or named in the warning)', async (t) => {
  if (process.platform !== 'linux') return t.diagnostic('glibc only');
  const s = await spawnServer({ LARGE_MODEL_MB: '1', MALLOC_MMAP_THRESHOLD_: '4194304' });
  try {
    await s.waitFor(/"model ready"/);
    const env = environOf(s.proc.pid!);
    assert.equal(env.get(MMAP.env), '4194304');
    assert.equal(readyLine(s).malloc_mmap_threshold, '4194304');
    if (hasExecve) {
      assert.equal(env.get(TRIM.env), TRIM.value);
      assert.equal(readyLine(s).malloc_trim_threshold, TRIM.value);
      assert.doesNotMatch(s.stdout(), /start the server with/);
    } else {
      assert.match(s.stdout(), new RegExp(`start the server with ${TRIM.env}=${TRIM.value} to`));
    }
  } finally {
    s.proc.kill('SIGTERM');
    await s.exited;
  }
});

test('both set by the environment: nothing re-executed, nothing warned', async (t) => {
  if (process.platform !== 'linux') return t.diagnostic('glibc only');
  const s = await spawnServer({ LARGE_MODEL_MB: '1', GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=4194304', MALLOC_TRIM_THRESHOLD_: '1048576' });
  try {
    await s.waitFor(/"model ready"/);
    const env = environOf(s.proc.pid!);
    assert.equal(env.has(MMAP.env), false);
    assert.equal(env.get(TRIM.env), '1048576');
    assert.equal(readyLine(s).malloc_mmap_threshold, '4194304');
    assert.equal(readyLine(s).malloc_trim_threshold, '1048576');
    assert.doesNotMatch(s.stdout(), /start the server with/);
  } finally {
    s.proc.kill('SIGTERM');
    await s.exited;
  }
});
