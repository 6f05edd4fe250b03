import type { FormattedItem } from '../format/format.js';
import { lastCut } from './tail-cut.js';

/** What charWindowOf reads of a tokenizer.json. */
interface VocabSpec {
  model?: { type?: string; vocab?: unknown };
  pre_tokenizer?: { type?: string; pretokenizers?: { type?: string }[] } | null;
  added_tokens?: { content: string }[];
}

/**
 * The most characters of a text that can reach the model: with byte-level BPE every byte is in
 * the vocabulary, so no token covers more characters than the longest vocabulary entry, and the
 * last `maxLength` tokens lie within the last `(maxLength + 1) × longest` characters. Null for
 * other tokenizers (an unknown-word token may cover a word of any length).
 */
export function charWindowOf(tokenizerJson: object, maxLength: number): number | null {
  const t = tokenizerJson as VocabSpec;
  const pre = t.pre_tokenizer;
  const byteLevel = pre?.type === 'ByteLevel' || (pre?.type === 'Sequence' && (pre.pretokenizers ?? []).some((p) => p.type === 'ByteLevel'));
  const vocab = t.model?.vocab;
  if (t.model?.type !== 'BPE' || !byteLevel || !vocab || typeof vocab !== 'object') return null;
  let longest = 0;
  for (const token of Object.keys(vocab)) longest = Math.max(longest, token.length);
  for (const a of t.added_tokens ?? []) longest = Math.max(longest, a.content.length);
  return (maxLength + 1) * longest;
}

/**
 * An item whose texts are longer than `window` characters, cut to their last `window` (at a
 * tail-safe cut when `safe` and one is near): what is cut off could never reach the model, and
 * tokenizing it would cost time in proportion to its length (a spaceless 64 KB text has no cut
 * the tail window could use). The cut item is marked `windowed`: it is over-long by construction,
 * so it ends truncated, or refused with a length that is a lower bound.
 */
export function applyCharWindow(item: FormattedItem, window: number | null, safe: boolean): FormattedItem {
  if (window === null || item.ids !== undefined) return item;
  const cutText = (text: string): number => {
    if (text.length <= window) return 0;
    const hard = text.length - window;
    // A safe cut in the first quarter of the window keeps the tail's tokens exact.
    const soft = safe ? lastCut(text, hard + (window >> 2)) : -1;
    return soft >= hard ? soft : hard;
  };
  const at = cutText(item.text);
  const secondAt = item.second === undefined ? 0 : cutText(item.second);
  if (at === 0 && secondAt === 0) return item;
  const text = item.text.slice(at);
  // The last turn starts where the prefix ends; if the cut is past it, the turn alone is too long.
  const prefix = item.prefix === null ? null : item.prefix.length > at ? item.prefix.slice(at) : '';
  return { ...item, text, prefix, ...(item.second !== undefined && { second: item.second.slice(secondAt) }), windowed: true };
}
