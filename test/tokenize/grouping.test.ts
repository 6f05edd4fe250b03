import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { readModelFolder } from '../../src/model/model-folder.js';
import { TokenizerPool, tokenizeWorkerData, type TokenizedBatch, type TokenizeWorkerData } from '../../src/tokenize/tokenizer-pool.js';
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
