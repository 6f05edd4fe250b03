import { Tokenizer } from '@huggingface/tokenizers';
import type { FormattedItem } from '../format/format.js';

/** How over-long items are handled: drop the oldest prompt tokens, or refuse with 422. */
export type TruncationMode = 'auto' | 'error';

/** One encoded item, special tokens included. */
export interface EncodedItem {
  ids: number[];
  /** Token type ids, for text pairs only (single texts are all type 0). */
  typeIds?: number[];
  truncated: boolean;
}

/** Why an item could not be encoded; mapped to a 422 by the caller. */
export interface EncodeFailure {
  code: 'item_too_long' | 'response_too_long';
  /** Token count of the whole item (for item_too_long) or of the response part. */
  length: number;
}

/** Where the post-processor puts its special tokens around a pair, and the type id of each part. */
interface PairLayout {
  ids: [number[], number[], number[]];
  types: [number[], number[], number[]];
  typeA: number;
  typeB: number;
}

/** Length of the common prefix of two id arrays. */
function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

const startsWith = (a: readonly number[], p: readonly number[]) => p.length <= a.length && p.every((id, i) => a[i] === id);
const endsWith = (a: readonly number[], s: readonly number[]) => s.length <= a.length && s.every((id, i) => a[a.length - s.length + i] === id);

/**
 * Tokenizes formatted items with @huggingface/tokenizers and truncates them ourselves (the
 * library has none): keep the special tokens and the whole last assistant turn, drop the
 * oldest prompt tokens first. Pure and synchronous; runs inside the tokenizer workers.
 */
export class TokenEncoder {
  private readonly tokenizer: Tokenizer;
  /** Special tokens the post-processor puts before and after a single sequence. */
  readonly before: readonly number[];
  readonly after: readonly number[];
  private readonly pairLayout: PairLayout | null;

  constructor(
    tokenizerJson: object,
    tokenizerConfig: object,
    readonly maxLength: number,
  ) {
    this.tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    // Learn where the post-processor adds special tokens by encoding a probe both ways.
    const plain: number[] = this.tokenizer.encode('a', { add_special_tokens: false }).ids;
    const full: number[] = this.tokenizer.encode('a', { add_special_tokens: true }).ids;
    const at = full.findIndex((_, i) => plain.every((id, j) => full[i + j] === id));
    if (plain.length === 0 || at < 0) throw new Error('cannot locate the special tokens added by the tokenizer post-processor');
    this.before = full.slice(0, at);
    this.after = full.slice(at + plain.length);
    if (this.before.length + this.after.length >= maxLength) throw new Error(`max_length ${maxLength} leaves no room for text`);
    this.pairLayout = this.learnPairLayout(plain);
  }

  /** Whether the tokenizer can encode text pairs. */
  get pairs(): boolean {
    return this.pairLayout !== null;
  }

  /** Room for text tokens once the special tokens are placed. */
  get budget(): number {
    return this.maxLength - this.before.length - this.after.length;
  }

  encode(item: FormattedItem, mode: TruncationMode): EncodedItem | EncodeFailure {
    if (item.second !== undefined) return this.encodePair(item.text, item.second, mode);
    // Text rendered by a chat template may carry the special tokens already: never add a second set.
    const body = this.strip(this.tokenize(item.text));
    const budget = this.budget;
    if (body.length <= budget) return { ids: this.wrap(body), truncated: false };
    const total = body.length + this.before.length + this.after.length;
    if (mode === 'error') return { code: 'item_too_long', length: total };
    if (item.prefix !== null) {
      // The response starts where the prompt's own tokenization stops matching the whole
      // text's (a token may straddle the boundary; it is counted as response and kept).
      let prompt = this.tokenize(item.prefix);
      if (startsWith(prompt, this.before)) prompt = prompt.slice(this.before.length);
      const responseLength = body.length - commonPrefix(prompt, body);
      if (responseLength > budget && !item.cutLastTurn) {
        return { code: 'response_too_long', length: responseLength + this.before.length + this.after.length };
      }
    }
    return { ids: this.wrap(body.slice(body.length - budget)), truncated: true };
  }

  /** `tokenizer(first, second)`: the pair template's special tokens and type ids; the first text is cut from its start. */
  private encodePair(first: string, second: string, mode: TruncationMode): EncodedItem | EncodeFailure {
    const layout = this.pairLayout;
    if (!layout) throw new Error('the tokenizer has no pair template');
    let a = this.tokenize(first);
    const b = this.tokenize(second);
    const special = layout.ids[0].length + layout.ids[1].length + layout.ids[2].length;
    const total = a.length + b.length + special;
    let truncated = false;
    if (total > this.maxLength) {
      if (mode === 'error') return { code: 'item_too_long', length: total };
      if (b.length + special > this.maxLength) return { code: 'response_too_long', length: b.length + special };
      a = a.slice(total - this.maxLength);
      truncated = true;
    }
    const [s0, s1, s2] = layout.ids;
    const [t0, t1, t2] = layout.types;
    return {
      ids: [...s0, ...a, ...s1, ...b, ...s2],
      typeIds: [...t0, ...a.map(() => layout.typeA), ...t1, ...b.map(() => layout.typeB), ...t2],
      truncated,
    };
  }

  private learnPairLayout(a: number[]): PairLayout | null {
    const b: number[] = this.tokenizer.encode('b', { add_special_tokens: false }).ids;
    const enc = this.tokenizer.encode('a', { text_pair: 'b', add_special_tokens: true, return_token_type_ids: true });
    const ids: number[] = enc.ids;
    const types = enc.token_type_ids;
    const ia = ids.findIndex((_, i) => a.every((id, j) => ids[i + j] === id));
    const ib = ids.findIndex((_, i) => i >= ia + a.length && b.every((id, j) => ids[i + j] === id));
    if (ia < 0 || ib < 0 || types.length !== ids.length) return null;
    const cut = <T>(x: T[]): [T[], T[], T[]] => [x.slice(0, ia), x.slice(ia + a.length, ib), x.slice(ib + b.length)];
    return { ids: cut(ids), types: cut(types), typeA: types[ia]!, typeB: types[ib]! };
  }

  private tokenize(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** Drops the post-processor's own special tokens where the text already has them. */
  private strip(body: number[]): number[] {
    const from = startsWith(body, this.before) ? this.before.length : 0;
    const to = endsWith(body, this.after) && body.length - this.after.length >= from ? body.length - this.after.length : body.length;
    return from === 0 && to === body.length ? body : body.slice(from, to);
  }

  private wrap(body: readonly number[]): number[] {
    return [...this.before, ...body, ...this.after];
  }

  /** Id of a token string, if the vocabulary has it. */
  tokenId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }
}
