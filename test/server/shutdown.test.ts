import assert from 'node:assert/strict';
import { test } from 'node:test';
import { filler } from '../helpers/app.js';
import { spawnServer } from '../helpers/process.js';

test('SIGTERM with requests in flight: every accepted request is answered, then exit 0', async () => {
  const s = await spawnServer({ SHUTDOWN_GRACE_MS: '60000' });
  await s.waitFor(/"model ready"/);
  const base = `http://127.0.0.1:${s.port}`;
  const body = (i: number) => JSON.stringify({ items: Array.from({ length: 48 }, (_, k) => ({ prompt: filler(i * 100 + k, 300), response: 'fine' })) });
  const inflight = Array.from({ length: 4 }, (_, i) =>
    fetch(`${base}/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(i) }).then(async (r) => ({
      status: r.status,
      json: (await r.json()) as { rewards: number[] },
    })),
  );
  // Signal once all four are accepted: 192 items admitted and not yet through inference.
  for (;;) {
    const m = await (await fetch(`${base}/metrics`)).text();
    const depth = Number(/^reward_queue_depth\{model="[^"]*"\} (\d+)/m.exec(m)?.[1] ?? 0);
    const inferred = Number(/^reward_inferred_items_total\{model="[^"]*"\} (\d+)/m.exec(m)?.[1] ?? 0);
    if (depth + inferred - 1 >= 192) break; // -1: the warm-up item
    await new Promise((r) => setTimeout(r, 5));
  }
  s.proc.kill('SIGTERM');
  const replies = await Promise.all(inflight);
  for (const r of replies) {
    assert.equal(r.status, 200);
    assert.equal(r.json.rewards.length, 48);
    assert.ok(r.json.rewards.every((x) => Number.isFinite(x)));
  }
  assert.equal(await s.exited, 0);
  assert.match(s.stdout(), /"msg":"draining"/);
  assert.match(s.stdout(), /"msg":"stopped"/);
});
