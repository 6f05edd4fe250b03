import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commonPrefix, planPrefixes, prefixCap, type PrefixPlan } from '../../src/infer/prefix-plan.js';

const PAD = 0;
const ids = (...xs: number[]) => Int32Array.from(xs);
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
/** A row: `shared` ids 1.., then `tail` ids from `tailFrom`. */
const row = (shared: number, tailFrom: number, tail: number) => ids(...range(1, shared), ...range(tailFrom, tail));

/** The invariants prefix-plan.ts documents. */
function checkInvariants(rows: Int32Array[], held: Int32Array[], plan: PrefixPlan, minTokens: number): void {
  const seen = [...plan.plain, ...plan.groups.flatMap((g) => g.rows)].sort((a, b) => a - b);
  assert.deepEqual(seen, range(0, rows.length), 'every row exactly once');
  for (const g of plan.groups) {
    assert.ok(g.length >= minTokens, `group length ${g.length} < ${minTokens}`);
    const source = 'held' in g.source ? held[g.source.held]! : rows[g.source.row]!;
    assert.ok(g.length <= source.length);
    for (const r of g.rows) {
      assert.ok(commonPrefix(rows[r]!, source) >= g.length, `row ${r} does not share ${g.length} ids with its source`);
      assert.ok(g.length <= prefixCap(rows[r]!, PAD), `row ${r}: its last real token would be in the prefix`);
    }
  }
}

test('prefixCap: the last position that is not the pad id', () => {
  assert.equal(prefixCap(ids(5, 6, 7), PAD), 2);
  assert.equal(prefixCap(ids(5, 6, 0, 0), PAD), 1);
  assert.equal(prefixCap(ids(0, 0), PAD), -1);
});

test('rows sharing at least minTokens ids form one group with their common prefix; others are plain', () => {
  const rows = [row(10, 100, 3), row(10, 200, 5), ids(9, 9, 9, 9), row(10, 300, 2), row(3, 400, 20)];
  const plan = planPrefixes(rows, [], [], { minTokens: 8, padTokenId: PAD });
  checkInvariants(rows, [], plan, 8);
  assert.equal(plan.groups.length, 1);
  assert.deepEqual([...plan.groups[0]!.rows].sort(), [0, 1, 3]);
  assert.equal(plan.groups[0]!.length, 10);
  assert.deepEqual(plan.plain, [2, 4]);
});

test('a shared prefix shorter than minTokens is not reused', () => {
  const rows = [row(7, 100, 3), row(7, 200, 3)];
  const plan = planPrefixes(rows, [], [], { minTokens: 8, padTokenId: PAD });
  assert.deepEqual(plan, { groups: [], plain: [0, 1] });
});

test('the prefix stops before each row\'s last real token: a row that is the prefix of another keeps one token', () => {
  const short = ids(...range(1, 10)); // ids 1..10
  const long = ids(...range(1, 10), 50, 51);
  const padded = ids(...range(1, 10), 0, 0); // ends in the pad id: the model pools at id 10
  const plan = planPrefixes([short, long, padded], [], [], { minTokens: 4, padTokenId: PAD });
  checkInvariants([short, long, padded], [], plan, 4);
  assert.equal(plan.groups.length, 1);
  assert.equal(plan.groups[0]!.length, 9); // short and padded continue with id 10 alone
});

test('a held prefix serves every row sharing it, sliced to what they share; the longest one wins', () => {
  const held = [ids(...range(1, 6)), ids(...range(1, 20))];
  const rows = [row(20, 100, 3), row(12, 200, 3), ids(...range(1, 5), 99)];
  const plan = planPrefixes(rows, held, [], { minTokens: 4, padTokenId: PAD });
  checkInvariants(rows, held, plan, 4);
  const g = plan.groups.find((x) => 'held' in x.source && x.source.held === 1)!;
  assert.deepEqual(g.rows, [0, 1]);
  assert.equal(g.length, 12); // the second row shares 12 of the held 20
  assert.ok(plan.groups.some((x) => 'held' in x.source && x.source.held === 0 && x.rows[0] === 2 && x.length === 5));
});

test('a lone row makes a new prefix only when a recently seen row shares its start', () => {
  const recent = [row(30, 500, 10)];
  const hit = planPrefixes([row(30, 100, 4)], [], recent, { minTokens: 16, padTokenId: PAD });
  assert.deepEqual(hit.groups, [{ source: { row: 0 }, length: 30, rows: [0] }]);
  const miss = planPrefixes([row(10, 100, 4)], [], recent, { minTokens: 16, padTokenId: PAD });
  assert.deepEqual(miss, { groups: [], plain: [0] });
});

test('invariants hold on random batches', () => {
  let x = 7;
  const rand = (n: number) => ((x = (x * 1103515245 + 12345) % 2 ** 31), x % n);
  for (let trial = 0; trial < 200; trial++) {
    const stems = Array.from({ length: 3 }, () => Array.from({ length: 5 + rand(30) }, () => 1 + rand(3)));
    const make = () => ids(...stems[rand(3)]!.slice(0, 1 + rand(35)), ...Array.from({ length: rand(6) }, () => rand(4)));
    const rows = Array.from({ length: 1 + rand(8) }, make).filter((r) => r.length > 0);
    const held = Array.from({ length: rand(3) }, make).filter((r) => r.length > 0);
    const minTokens = 1 + rand(10);
    checkInvariants(rows, held, planPrefixes(rows, held, Array.from({ length: rand(3) }, make), { minTokens, padTokenId: PAD }), minTokens);
  }
});
