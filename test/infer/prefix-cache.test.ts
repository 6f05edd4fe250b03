import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PrefixCache } from '../../src/infer/prefix-cache.js';

const key = (n: number) => Int32Array.of(n);
const names = (c: PrefixCache<string>) => c.entries().map((e) => e.value);

test('least recently used first out, within the byte bound', () => {
  const c = new PrefixCache<string>(100);
  assert.ok(c.add(key(1), 'a', 40));
  assert.ok(c.add(key(2), 'b', 40));
  c.touch(c.entries()[1]!); // a is now the most recent
  assert.deepEqual(names(c), ['a', 'b']);
  assert.ok(c.add(key(3), 'c', 40)); // 120 > 100: b goes
  assert.deepEqual(names(c), ['c', 'a']);
  assert.equal(c.bytes, 80);
  assert.equal(c.evictions, 1);
  assert.ok(c.add(key(4), 'd', 100)); // exactly the bound: both go
  assert.deepEqual(names(c), ['d']);
  assert.equal(c.evictions, 3);
  const gone = c.entries()[0]!;
  c.add(key(5), 'e', 100);
  c.touch(gone); // evicted meanwhile: nothing
  assert.deepEqual(names(c), ['e']);
});

test('a prefix larger than the bound is not held, and evicts nothing', () => {
  const c = new PrefixCache<string>(100);
  c.add(key(1), 'a', 60);
  assert.equal(c.add(key(2), 'big', 101), false);
  assert.deepEqual(names(c), ['a']);
  assert.equal(c.evictions, 0);
  const off = new PrefixCache<string>(0);
  assert.equal(off.add(key(1), 'a', 1), false);
  assert.equal(off.bytes, 0);
});

test('recent rows: newest first, at most 64', () => {
  const c = new PrefixCache<string>(0);
  for (let i = 0; i < 70; i++) c.remember(key(i));
  assert.equal(c.recent().length, 64);
  assert.equal(c.recent()[0]![0], 69);
  assert.equal(c.recent()[63]![0], 6);
});
