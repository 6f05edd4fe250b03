import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { WorkerClient, WorkerError } from '../../src/workers/worker-client.js';
import { createMetrics } from '../../src/metrics.js';
import { WorkerPool } from '../../src/workers/worker-pool.js';
import type { CrashRequest } from './crash-worker.js';
import { until } from '../helpers/until.js';

const url = new URL('./crash-worker.js', import.meta.url);

function pool(size: number, block: string, restarts: number[]) {
  return new WorkerPool<string, CrashRequest, number>(size, (i) => new WorkerClient(url, block, `crash-${i}`), {
    onRestart: (i) => restarts.push(i),
    retryDelayMs: 20,
  });
}


test('a worker that exits fails only its own call; calls waiting behind it run on the replacement', async () => {
  const restarts: number[] = [];
  const p = pool(1, path.join(os.tmpdir(), 'no-such-block-file'), restarts);
  await p.ready();
  const first = p.workers[0];
  const dying = p.call({ op: 'exit' });
  const behind = [p.call({ op: 'echo', value: 1 }), p.call({ op: 'echo', value: 2 })];
  await assert.rejects(dying, (e: Error) => e instanceof WorkerError && /exited with code 3/.test(e.message));
  assert.equal(p.healthy, false, 'not healthy until the replacement is up');
  assert.deepEqual(await Promise.all(behind), [1, 2]);
  assert.deepEqual(restarts, [0]);
  assert.notEqual(p.workers[0], first);
  assert.equal(p.healthy, true);
  await assert.rejects(p.call({ op: 'throw' }), /handler failed/);
  assert.equal(await p.call({ op: 'echo', value: 3 }), 3, 'a throwing handler does not kill the worker');
  assert.deepEqual(restarts, [0]);
  await p.terminate();
});

test('a worker killed mid-call is replaced; the other worker keeps serving meanwhile', async () => {
  const restarts: number[] = [];
  const p = pool(2, path.join(os.tmpdir(), 'no-such-block-file'), restarts);
  await p.ready();
  const slow = p.call({ op: 'slow', ms: 5000, value: 9 });
  await until(() => p.workers.some((w) => w.inFlight > 0));
  const busy = p.workers.findIndex((w) => w.inFlight > 0);
  await p.workers[busy]!.crash(); // processed while the slow call waits
  await assert.rejects(slow, WorkerError);
  assert.equal(await p.call({ op: 'echo', value: 4 }), 4);
  await until(() => p.healthy);
  assert.deepEqual(restarts, [busy]);
  await p.terminate();
});

test('a replacement that cannot start is retried; waiting calls fail instead of hanging', async () => {
  const block = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'crash-pool-')), 'block');
  const restarts: number[] = [];
  const p = pool(1, block, restarts);
  await p.ready();
  fs.writeFileSync(block, '');
  await assert.rejects(p.call({ op: 'exit' }), /exited/);
  await assert.rejects(p.call({ op: 'echo', value: 5 }), /blocked by the test/);
  assert.equal(p.healthy, false);
  fs.rmSync(block);
  await until(() => p.healthy);
  assert.equal(await p.call({ op: 'echo', value: 6 }), 6);
  assert.deepEqual(restarts, [0]);
  await p.terminate();
  await assert.rejects(p.call({ op: 'echo', value: 7 }), /closed/);
});

test('busy time never goes backwards across a restart, so the busy counter adds only real work', async () => {
  const restarts: number[] = [];
  const p = pool(2, path.join(os.tmpdir(), 'no-such-block-file'), restarts);
  try {
    await p.ready();
    await Promise.all([p.call({ op: 'spin', ms: 300 }), p.call({ op: 'spin', ms: 300 })]);
    const metrics = createMetrics();
    let read = 0; // what the counter last read
    metrics.addBusySource('infer', () => (read = p.busyMs()));
    const busy = async () => Number(/pool="infer"\} ([\d.e+-]+)/.exec(await metrics.registry.getSingleMetricAsString('reward_thread_busy_seconds_total'))?.[1] ?? 0);
    const start = await busy();
    assert.ok(start >= 0.5, `both spins counted once (${start} s)`);
    const before = p.busyMs();
    await assert.rejects(p.call({ op: 'exit' }));
    for (let i = 0; i < 200 && !p.healthy; i++) {
      assert.ok(p.busyMs() >= before, 'the dead worker keeps its time while it is replaced');
      await busy();
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.deepEqual(restarts.length, 1);
    // The counter adds what the source gained: across the restart it equals the source's last
    // reading (the bug added the survivor's whole lifetime again, so it ran ahead of the source).
    const total = await busy();
    assert.ok(Math.abs(total - read / 1000) < 1e-9, `counter ${total} s, busy time ${read / 1000} s`);
  } finally {
    await p.terminate(); // a failed check must not leave the threads holding the process open
  }
});
