/** What tailCutSafe reads of a tokenizer.json. */
interface TokenizerSpec {
  normalizer?: unknown;
  pre_tokenizer?: { type?: string; use_regex?: boolean; add_prefix_space?: boolean } | null;
  model?: { type?: string; dropout?: number | null };
  added_tokens?: { content: string; lstrip?: boolean; rstrip?: boolean }[];
}

/**
 * Whether the parts of a text cut at lastCut positions tokenize, one after another, to exactly
 * the tokens of the whole text, so a long text's tail can be tokenized alone. True for GPT-2-style
 * byte-level BPE: with no normalizer, the pre-tokenizer's regex never puts a space after a
 * non-space character in one piece, so a cut before " x" ends a piece in both texts, and BPE
 * merges only within pieces. Special tokens must hold no whitespace and strip none, or the cut
 * could land inside or next to one.
 */
export function tailCutSafe(tokenizerJson: object): boolean {
  const t = tokenizerJson as TokenizerSpec;
  const pre = t.pre_tokenizer;
  if (t.normalizer != null || pre?.type !== 'ByteLevel' || pre.use_regex === false || pre.add_prefix_space) return false;
  if (t.model?.type !== 'BPE' || t.model.dropout != null) return false;
  return (t.added_tokens ?? []).every((a) => !/\s/u.test(a.content) && !a.lstrip && !a.rstrip);
}

// Printable ASCII other than space: whitespace by every regex flavour's definition or none.
const visible = (c: number) => c > 0x20 && c < 0x7f;

/**
 * The last index ≤ `at` holding a space between two visible ASCII characters, or -1: where a
 * text can be cut for tailCutSafe tokenizers (the second part keeps the space).
 */
export function lastCut(text: string, at: number): number {
  for (let p = Math.min(at, text.length - 2); p >= 1; p--) {
    if (text.charCodeAt(p) === 0x20 && visible(text.charCodeAt(p - 1)) && visible(text.charCodeAt(p + 1))) return p;
  }
  return -1;
}
