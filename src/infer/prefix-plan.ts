// Which rows of a batch continue from a shared prefix, by token ids alone (a tokenizer merge across
// a prompt's end can never change a reward: rows share exactly the ids they share).
//
// Invariants of the plan (checked by test/infer/prefix-plan.test.ts):
// - every row is in exactly one group or in `plain`;
// - a group's rows and its source agree on the first `length` ids, and minTokens ≤ length;
// - length ≤ cap(row) for each row of the group: its continuation keeps its last token that is
//   not the pad id, where the model pools, so the continuation is never empty;
// - rows with a held prefix reuse the longest one they share; held prefixes are never extended.

/** Where a group's keys and values come from. */
export type PrefixSource =
  /** A prefix the worker holds (index into `held`), sliced to `length` when longer. */
  | { held: number }
  /** A new prefix: the first `length` ids of this row, run once for the group, then held. */
  | { row: number };

/** Rows that continue from the same `length` leading ids. */
export interface PrefixGroup {
  source: PrefixSource;
  length: number;
  rows: number[];
}

export interface PrefixPlan {
  groups: PrefixGroup[];
  /** Rows scored whole, as without reuse. */
  plain: number[];
}

export interface PrefixPlanOptions {
  /** Shortest shared prefix worth reusing. */
  minTokens: number;
  padTokenId: number;
}

/** Length of the common prefix of a and b, at most `max`. */
export function commonPrefix(a: ArrayLike<number>, b: ArrayLike<number>, max = Infinity): number {
  const n = Math.min(a.length, b.length, max);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** Longest prefix a row may continue from: up to its last token that is not the pad id (-1: none). */
export function prefixCap(row: ArrayLike<number>, padTokenId: number): number {
  let last = row.length - 1;
  while (last >= 0 && row[last] === padTokenId) last--;
  return last;
}

function compareIds(a: Int32Array, b: Int32Array): number {
  const n = commonPrefix(a, b);
  if (n < a.length && n < b.length) return a[n]! - b[n]!;
  return a.length - b.length;
}

/**
 * Plans one batch: rows sharing a held prefix use it; rows sharing at least `minTokens` ids with
 * each other get one new prefix (their common part); a lone row sharing them with a recently
 * seen row (`recent`, ids of rows scored whole) gets a new prefix of what they share, so the next
 * members of its group hit it. Everything else is plain.
 */
export function planPrefixes(rows: readonly Int32Array[], held: readonly Int32Array[], recent: readonly Int32Array[], o: PrefixPlanOptions): PrefixPlan {
  const caps = rows.map((r) => prefixCap(r, o.padTokenId));
  const byHeld = new Map<number, { length: number; rows: number[] }>();
  const open: number[] = [];
  rows.forEach((row, r) => {
    if (caps[r]! < o.minTokens) return open.push(r);
    let best = -1;
    let bestLength = 0;
    held.forEach((h, i) => {
      const n = commonPrefix(row, h, caps[r]);
      if (n > bestLength) [best, bestLength] = [i, n];
    });
    if (best < 0 || bestLength < o.minTokens) return open.push(r);
    const g = byHeld.get(best);
    if (g) {
      g.length = Math.min(g.length, bestLength);
      g.rows.push(r);
    } else byHeld.set(best, { length: bestLength, rows: [r] });
  });
  const groups: PrefixGroup[] = [...byHeld].map(([i, g]) => ({ source: { held: i }, length: g.length, rows: g.rows }));

  // Rows left, in id order: neighbours share the longest prefixes, so clusters are runs.
  const plain: number[] = [];
  const sorted = open.filter((r) => caps[r]! >= o.minTokens).sort((a, b) => compareIds(rows[a]!, rows[b]!));
  for (const r of open) if (caps[r]! < o.minTokens) plain.push(r);
  for (let i = 0; i < sorted.length; ) {
    const first = sorted[i]!;
    let length = caps[first]!;
    let j = i + 1;
    for (; j < sorted.length; j++) {
      const next = sorted[j]!;
      const n = commonPrefix(rows[sorted[j - 1]!]!, rows[next]!, Math.min(length, caps[next]!));
      if (n < o.minTokens) break;
      length = n;
    }
    if (j - i >= 2) {
      groups.push({ source: { row: first }, length, rows: sorted.slice(i, j) });
    } else {
      let seen = 0;
      for (const s of recent) seen = Math.max(seen, commonPrefix(rows[first]!, s, caps[first]));
      if (seen >= o.minTokens) groups.push({ source: { row: first }, length: seen, rows: [first] });
      else plain.push(first);
    }
    i = j;
  }
  plain.sort((a, b) => a - b);
  return { groups, plain };
}
