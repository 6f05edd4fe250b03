import type { ScoreItem } from '../format/format.js';
import { packRows } from '../util/pack-rows.js';
import type { ExplainedItem, TokenizeResult } from './tokenizer-pool.js';

/** How much one slice of a request may hold: its tokenizing time is about proportional to its characters. */
export interface SliceLimits {
  maxItems: number;
  maxChars: number;
}

/** Characters an item brings to the tokenizer (what its tokenizing time is proportional to). */
export function itemChars(item: ScoreItem): number {
  if ('text' in item) return item.text.length;
  if ('ids' in item) return item.ids.length;
  const messages = 'messages' in item ? item.messages : typeof item.prompt === 'string' ? [] : item.prompt;
  let n = 'response' in item ? item.response.length + (typeof item.prompt === 'string' ? item.prompt.length : 0) : 0;
  for (const m of messages) n += typeof m.content === 'string' ? m.content.length : m.content.reduce((a, p) => a + p.text.length, 0);
  return n;
}

/**
 * A request's items cut, in order, into slices of at most `maxItems` items and `maxChars`
 * characters (a single item over the limit is a slice of its own). Returns each slice's first
 * item index.
 */
export function sliceStarts(chars: readonly number[], limits: SliceLimits): number[] {
  const starts: number[] = [];
  let items = 0;
  let size = 0;
  chars.forEach((c, i) => {
    if (i === 0 || items >= limits.maxItems || size + c > limits.maxChars) {
      starts.push(i);
      items = 0;
      size = 0;
    }
    items++;
    size += c;
  });
  return starts;
}

/**
 * The answer of a whole request from its slices' answers, in order: the first failure (its
 * index made request-wide), else every per-item field of the slices joined (ids, type ids,
 * truncation, step-tag counts, explanations).
 */
export function joinSlices(results: readonly TokenizeResult[], starts: readonly number[]): TokenizeResult {
  if (results.length === 1) return results[0]!;
  for (const [k, r] of results.entries()) {
    if ('failure' in r) return { failure: { ...r.failure, index: r.failure.index + starts[k]! } };
  }
  const rows: Int32Array[] = [];
  const types: (Uint8Array | undefined)[] = [];
  const truncated: number[] = [];
  const tags: number[] = [];
  const explained: ExplainedItem[] = [];
  for (const r of results) {
    if ('failure' in r) continue;
    let at = 0;
    r.lengths.forEach((len, i) => {
      rows.push(r.ids.subarray(at, at + len));
      types.push(r.typeIds?.subarray(at, at + len));
      truncated.push(r.truncated[i]!);
      if (r.tags) tags.push(r.tags[i]!);
      at += len;
    });
    if (r.explained) explained.push(...r.explained);
  }
  return {
    ...packRows(rows, types),
    truncated: Uint8Array.from(truncated),
    ...(results.some((r) => 'tags' in r && r.tags) && { tags: Int32Array.from(tags) }),
    ...(explained.length > 0 && { explained }),
  };
}
