import assert from 'node:assert/strict';
import { test } from 'node:test';
import { filler } from '../helpers/app.js';
import { spawnServer } from '../helpers/process.js';

test('SIGTERM with more queued work than the grace allows: every request still gets a reply, then exit 1', async () => {
  const s = await spawnServer({ SHUTDOWN_GRACE_MS: '1', INFER_WORKERS: '1' });
  await s.waitFor(/"model ready"/);
  const base = `http://127.0.0.1:${s.port}`;
  const body = (i: number) => JSON.stringify({ items: Array.from({ length: 48 }, (_, k) => ({ prompt: filler(i * 100 + k, 300), response: 'fine' })) });
  const inflight = Array.from({ length: 4 }, (_, i) =>
    fetch(`${base}/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(i) }).then(
      async (r) => ({ status: r.status, json: (await r.json()) as { error?: { code: string } } }),
      (err: Error) => ({ status: 0, json: { error: { code: `no reply: ${err.message}` } } }),
    ),
  );
  for (;;) {
    const m = await (await fetch(`${base}/metrics`)).text();
    const depth = Number(/^reward_queue_depth\{model="[^"]*"\} (\d+)/m.exec(m)?.[1] ?? 0);
    const inferred = Number(/^reward_inferred_items_total\{model="[^"]*"\} (\d+)/m.exec(m)?.[1] ?? 0);
    if (depth + inferred - 1 >= 192) break; // all four accepted (-1: the warm-up item)
    await new Promise((r) => setTimeout(r, 5));
  }
  s.proc.kill('SIGTERM');
  const replies = await Promise.all(inflight);
  for (const r of replies) {
    if (r.status === 200) continue; // finished within the grace
    assert.equal(r.status, 503, JSON.stringify(r.json));
    assert.equal(r.json.error?.code, 'shutting_down');
  }
  assert.ok(replies.some((r) => r.status === 503), 'a 1 ms grace cannot finish 192 long items');
  assert.equal(await s.exited, 1);
  assert.match(s.stdout(), /grace period over/);
  assert.doesNotMatch(s.stderr(), /terminate called|Aborted/);
});
