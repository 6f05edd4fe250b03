import { Tokenizer } from '@huggingface/tokenizers';
import type { FormattedItem } from '../format/format.js';

/** How over-long items are handled: drop the oldest prompt tokens, or refuse with 422. */
export type TruncationMode = 'auto' | 'error';

/** One encoded item, special tokens included. */
export interface EncodedItem {
  ids: number[];
  truncated: boolean;
}

/** Why an item could not be encoded; mapped to a 422 by the caller. */
export interface EncodeFailure {
  code: 'item_too_long' | 'response_too_long';
  /** Token count of the whole item (for item_too_long) or of the response part. */
  length: number;
}

/** Length of the common prefix of two id arrays. */
function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/**
 * Tokenizes formatted items with @huggingface/tokenizers and truncates them ourselves (the
 * library has none): keep the special tokens and the whole response, drop the oldest prompt
 * tokens first. Pure and synchronous; runs inside the tokenizer workers.
 */
export class TokenEncoder {
  private readonly tokenizer: Tokenizer;
  /** Special tokens the post-processor puts before and after a single sequence. */
  readonly before: readonly number[];
  readonly after: readonly number[];

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
  }

  /** Room for text tokens once the special tokens are placed. */
  get budget(): number {
    return this.maxLength - this.before.length - this.after.length;
  }

  encode(item: FormattedItem, mode: TruncationMode): EncodedItem | EncodeFailure {
    const body = this.tokenizer.encode(item.text, { add_special_tokens: false }).ids;
    const budget = this.budget;
    if (body.length <= budget) return { ids: this.wrap(body), truncated: false };
    const total = body.length + this.before.length + this.after.length;
    if (mode === 'error') return { code: 'item_too_long', length: total };
    if (item.prefix !== null) {
      // The response starts where the prompt's own tokenization stops matching the whole
      // text's (a token may straddle the boundary; it is counted as response and kept).
      const prompt = this.tokenizer.encode(item.prefix, { add_special_tokens: false }).ids;
      const responseLength = body.length - commonPrefix(prompt, body);
      if (responseLength > budget) {
        return { code: 'response_too_long', length: responseLength + this.before.length + this.after.length };
      }
    }
    return { ids: this.wrap(body.slice(body.length - budget)), truncated: true };
  }

  private wrap(body: readonly number[]): number[] {
    return [...this.before, ...body, ...this.after];
  }

  /** Id of a token string, if the vocabulary has it. */
  tokenId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }
}
