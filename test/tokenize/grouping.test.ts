import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { readModelFolder } from '../../src/model/model-folder.js';
import { GATHER_ITEMS, TokenizerPool, tokenizeWorkerData, type TokenizedBatch, type TokenizeWorkerData } from '../../src/tokenize/tokenizer-pool.js';
import { DEFAULT_MODEL, filler } from '../helpers/app.js';

const folder = readModelFolder(DEFAULT_MODEL, { maxLengthCap: 8192 });
const data: TokenizeWorkerData = tokenizeWorkerData(folder, 'huggingface');
let pool: TokenizerPool;
before(async () => {
  pool = new TokenizerPool(1, data);
  await pool.ready();
});
after(() => pool.close());

const ids = (r: Awaited<ReturnType<TokenizerPool['tokenize']>>) => Array.from((r as TokenizedBatch).ids);

test('one-item requests that wait for the worker go together in one message, each answered with its own ids', async () => {
  const items = Array.from({ length: 40 }, (_, i) => ({ prompt: filler(i, 5 + (i % 7)), response: filler(100 + i, 3) }));
  const alone: number[][] = [];
  for (const it of items) alone.push(ids(await pool.tokenize([it], 'template', 'auto')));
  const before = pool.messages;
  const together = await Promise.all(items.map((it) => pool.tokenize([it], 'template', 'auto')));
  const sent = pool.messages - before;
  assert.ok(sent < items.length / 4, `${sent} messages for ${items.length} requests`);
  together.forEach((r, i) => assert.deepEqual(ids(r), alone[i], `request ${i}`));
});

test('a request that fails inside a group fails alone; its neighbours are answered', async () => {
  const ok = { prompt: 'Hi', response: 'Hello.' };
  const tooLong = { prompt: filler(1, 400), response: 'Yes.' };
  const results = await Promise.all([
    pool.tokenize([ok], 'template', 'auto'),
    pool.tokenize([ok], 'template', 'auto'),
    pool.tokenize([tooLong], 'template', 'error'),
    pool.tokenize([ok, ok], 'template', 'auto'),
    pool.tokenize([{ messages: [{ role: 'user', content: 'Hi' }] }], 'template', 'auto'),
  ]);
  assert.ok(!('failure' in results[0]!) && !('failure' in results[1]!) && !('failure' in results[3]!));
  assert.equal((results[3] as TokenizedBatch).lengths.length, 2);
  assert.equal('failure' in results[2]! && results[2].failure.code, 'item_too_long');
  assert.equal('failure' in results[4]! && results[4].failure.code, 'no_chat_template');
});

describe('gathering while inference is behind', () => {
  let backlog = 0;
  let gathering: TokenizerPool;
  before(async () => {
    gathering = new TokenizerPool(1, data, { gather: { waitMs: 400, backlogMs: () => backlog } });
    await gathering.ready();
  });
  after(() => gathering.close());

  const item = (i: number) => ({ prompt: filler(i, 6), response: filler(50 + i, 3) });
  /**
   * Two one-item requests apart, with the worker idle: the second is sent once the pool has
   * decided on the first (its flush runs on the next setImmediate, before ours). Returns the
   * messages sent by then and in all.
   */
  const twoApart = async () => {
    const before = gathering.messages;
    const first = gathering.tokenize([item(1)], 'template', 'auto');
    await new Promise((r) => setImmediate(r));
    const decided = gathering.messages - before;
    const second = gathering.tokenize([item(2)], 'template', 'auto');
    const results = await Promise.all([first, second]);
    assert.ok(results.every((r) => !('failure' in r)));
    return { decided, sent: gathering.messages - before };
  };

  test('requests arriving apart share one worker message while inference has more queued than the wait', async () => {
    backlog = 5_000;
    // The first is held for others to join (400 ms), so the second joins it.
    assert.deepEqual(await twoApart(), { decided: 0, sent: 1 });
  });

  test('with no backlog each request goes to the idle worker at once', async () => {
    backlog = 0;
    // The first went at once, so the second goes in a message of its own.
    assert.deepEqual(await twoApart(), { decided: 1, sent: 2 });
  });

  test(`a gathering message goes as soon as it holds ${GATHER_ITEMS} items, without waiting out the wait`, { timeout: 20_000 }, async () => {
    // Held for the whole wait (a minute), the group would outlast the test's timeout.
    backlog = 600_000;
    const slow = new TokenizerPool(1, data, { gather: { waitMs: 60_000, backlogMs: () => backlog } });
    try {
      await slow.ready();
      const results = await Promise.all(Array.from({ length: GATHER_ITEMS }, (_, i) => slow.tokenize([item(i)], 'template', 'auto')));
      assert.ok(results.every((r) => !('failure' in r)));
      assert.equal(slow.messages, 1);
    } finally {
      await slow.close();
    }
  });

  test('a gathered request whose signal aborts is answered at once; the others still are', async () => {
    backlog = 5_000;
    const ac = new AbortController();
    const kept = gathering.tokenize([item(3)], 'template', 'auto');
    const dropped = gathering.tokenize([item(4)], 'template', 'auto', false, ac.signal);
    ac.abort(new Error('client left'));
    await assert.rejects(dropped, /client left/);
    assert.ok(!('failure' in (await kept)));
  });
});
