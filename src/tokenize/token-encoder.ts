import { Tokenizer } from '@huggingface/tokenizers';
import type { FormattedItem } from '../format/format.js';
import { AddedTokenSplitter } from './added-tokens.js';
import { lastCut, tailCutSafe } from './tail-cut.js';
import { TokenCache } from './token-cache.js';

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
export type EncodeFailure =
  | {
      code: 'item_too_long' | 'response_too_long';
      /** Token count of the whole item (for item_too_long) or of the response part. */
      length: number;
      /** The item was cut to its character window first: `length` is a lower bound. */
      atLeast?: boolean;
    }
  | { code: 'invalid_request'; message: string };

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

/**
 * Characters per token assumed when sizing the next piece of an over-long text's tail. HH
 * dialogues average 3.7; a denser text costs one more (smaller) piece, never a wrong result.
 */
const CHARS_PER_TOKEN = 4;
/** Tokens read beyond the need, so that one piece usually suffices. */
const SLACK_TOKENS = 8;

/** A step of encoding that yields texts to tokenize (no special tokens) and takes back their ids. */
type Tokenizing<T> = Generator<string, T, number[]>;

/** One item's encoding as a TokenEncoder.plan. */
export type EncodePlan = Tokenizing<EncodedItem | EncodeFailure>;

/** Tokens of a text's tail, and the character index where that tail starts (0: the whole text). */
interface Tail {
  ids: number[];
  from: number;
}

const startsWith = (a: readonly number[], p: readonly number[]) => p.length <= a.length && p.every((id, i) => a[i] === id);
const endsWith = (a: readonly number[], s: readonly number[]) => s.length <= a.length && s.every((id, i) => a[a.length - s.length + i] === id);

/**
 * Tokenizes formatted items with @huggingface/tokenizers and truncates them ourselves (the
 * library has none): keep the special tokens and the whole last assistant turn, drop the
 * oldest prompt tokens first. Pure; runs inside the tokenizer workers. `encode` tokenizes with
 * the card's library; `plan` leaves the tokenizing to the caller.
 */
export class TokenEncoder {
  private readonly tokenizer: Tokenizer;
  /** Special tokens the post-processor puts before and after a single sequence. */
  readonly before: readonly number[];
  readonly after: readonly number[];
  private readonly pairLayout: PairLayout | null;
  /** Whether over-long texts may be tokenized from a tail window (see tail-cut.ts). */
  readonly tailSafe: boolean;
  /** Long texts tokenized lately: a prompt shared by many items is tokenized once. */
  private readonly cache: TokenCache;
  /** Cuts texts at added tokens, so each part can come from the cache; null when that is not exact. */
  private readonly splitter: AddedTokenSplitter | null;

  constructor(
    tokenizerJson: object,
    tokenizerConfig: object,
    readonly maxLength: number,
    /** Where the cache counts its lookups (see TokenCache). */
    cacheCounts: BigInt64Array | null = null,
  ) {
    this.cache = new TokenCache(cacheCounts);
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
    this.tailSafe = tailCutSafe(tokenizerJson);
    this.splitter = AddedTokenSplitter.from(tokenizerJson);
  }

  /** Whether the tokenizer can encode text pairs. */
  get pairs(): boolean {
    return this.pairLayout !== null;
  }

  /** Room for text tokens once the special tokens are placed. */
  get budget(): number {
    return this.maxLength - this.before.length - this.after.length;
  }

  /** Encodes one item with the card's library (@huggingface/tokenizers), synchronously. */
  encode(item: FormattedItem, mode: TruncationMode): EncodedItem | EncodeFailure {
    const plan = this.plan(item, mode);
    let step = plan.next();
    while (!step.done) step = plan.next(this.tokenize(step.value));
    return step.value;
  }

  /**
   * The encoding of one item as a plan: it yields each text it needs tokenized (no special
   * tokens added) and takes back the ids, so a caller can tokenize many plans' texts at once
   * with another library (see encodePlans).
   */
  *plan(item: FormattedItem, mode: TruncationMode): EncodePlan {
    if (item.second !== undefined) return yield* this.encodePair(item.text, item.second, mode);
    if (item.ids !== undefined || item.specials === false) return yield* this.plain(item, mode);
    const { text, prefix } = item;
    const budget = this.budget;
    const specials = this.before.length + this.after.length;
    const need = budget + this.after.length;
    // Structured items are refused when their last turn alone cannot fit: count it when it might not.
    const turn = prefix !== null && !item.cutLastTurn ? yield* this.lastTurn(text, prefix, need) : null;
    const tail = turn?.tail ?? (yield* this.tailTokens(text, turn === null ? need : Infinity));
    // Text rendered by a chat template may carry the special tokens already: never add a second set.
    const body = this.strip(tail);
    if (body.length <= budget) return { ids: this.wrap(body), truncated: false };
    if (mode === 'error') return { code: 'item_too_long', length: this.strip(yield* this.whole(text, tail)).length + specials };
    const response = turn === null ? 0 : (turn.length ?? (yield* this.responseLength(prefix!, body)));
    if (response > budget) return { code: 'response_too_long', length: response + specials };
    return { ids: this.wrap(body.slice(body.length - budget)), truncated: true };
  }

  /**
   * The last turn of a structured item, if it might not fit: its token count and the text's
   * tail, tokenized in two parts cut just inside the prompt (no second pass over the text). With
   * no such cut, `length` and `tail` are left for whole-text tokenization. Null when the turn's
   * bytes show it fits (every token holds at least one byte).
   */
  private *lastTurn(text: string, prefix: string, need: number): Tokenizing<{ length?: number; tail?: Tail } | null> {
    const cut = this.tailSafe ? lastCut(text, prefix.length - 1) : -1;
    if (cut <= 0) return {};
    if ((text.length - cut) * 3 <= this.budget || Buffer.byteLength(text.slice(cut)) <= this.budget) return null;
    const turn = yield text.slice(cut);
    const turnBody = this.strip({ ids: turn, from: cut });
    const length = turnBody.length - commonPrefix(yield prefix.slice(cut), turnBody);
    const rest = yield* this.tailTokens(text, need - turn.length, cut);
    return { length, tail: { ids: rest.ids.concat(turn), from: rest.from } };
  }

  /**
   * Tokens in the last turn: where the prompt's own tokenization stops matching the whole
   * text's (a token may straddle the boundary; it is counted as response).
   */
  private *responseLength(prefix: string, body: number[]): Tokenizing<number> {
    let prompt = yield prefix;
    if (startsWith(prompt, this.before)) prompt = prompt.slice(this.before.length);
    return body.length - commonPrefix(prompt, body);
  }

  /**
   * Tokens of text[from, end): more than `need` of them, or all from `floor` (then from = floor).
   * For tailCutSafe tokenizers the text is read backwards in pieces cut by lastCut, so an
   * over-long text costs about `need` tokens of work, not its whole length.
   */
  private *tailTokens(text: string, need: number, end = text.length, floor = 0): Tokenizing<Tail> {
    if (!this.tailSafe || need === Infinity) return { ids: yield text.slice(floor, end), from: floor };
    let ids: number[] = [];
    let from = end;
    while (from > floor && ids.length <= need) {
      const cut = lastCut(text, from - 1 - (need - ids.length + SLACK_TOKENS) * CHARS_PER_TOKEN);
      const start = cut > floor ? cut : floor;
      const piece = yield text.slice(start, from);
      ids = ids.length === 0 ? piece : piece.concat(ids);
      from = start;
    }
    return { ids, from };
  }

  /** All of a text's tokens (for exact lengths in error replies). */
  private *whole(text: string, tail: Tail): Tokenizing<Tail> {
    return tail.from === 0 ? tail : { ids: yield text, from: 0 };
  }

  /**
   * Given ids, or text without special tokens: the tokens as they are, the oldest dropped when
   * longer than max_length (as an HF tokenizer with truncation_side "left" does).
   */
  private *plain(item: FormattedItem, mode: TruncationMode): EncodePlan {
    const tail: Tail = item.ids ? { ids: item.ids as number[], from: 0 } : yield* this.tailTokens(item.text, this.maxLength);
    if (item.ids) {
      // An id outside the vocabulary would index past the embedding table.
      const bad = item.ids.find((id) => this.tokenizer.id_to_token(id) === undefined);
      if (bad !== undefined) return { code: 'invalid_request', message: `token id ${bad} is not in the vocabulary of the model's tokenizer` };
    }
    if (tail.ids.length === 0) return { code: 'invalid_request', message: 'the item has no tokens' };
    if (tail.ids.length <= this.maxLength) return { ids: tail.ids, truncated: false };
    if (mode === 'error') return { code: 'item_too_long', length: (yield* this.whole(item.text, tail)).ids.length };
    return { ids: tail.ids.slice(tail.ids.length - this.maxLength), truncated: true };
  }

  /** `tokenizer(first, second)`: the pair template's special tokens and type ids; the first text is cut from its start. */
  private *encodePair(first: string, second: string, mode: TruncationMode): EncodePlan {
    const layout = this.pairLayout;
    if (!layout) throw new Error('the tokenizer has no pair template');
    const b = yield second;
    const special = layout.ids[0].length + layout.ids[1].length + layout.ids[2].length;
    const room = this.maxLength - special - b.length;
    const tail = yield* this.tailTokens(first, Math.max(room, 0));
    let a = tail.ids;
    let truncated = false;
    if (a.length > room) {
      if (mode === 'error') return { code: 'item_too_long', length: (yield* this.whole(first, tail)).ids.length + b.length + special };
      if (room < 0) return { code: 'response_too_long', length: b.length + special };
      a = a.slice(a.length - room);
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
    const parts = this.splitter?.split(text) ?? [text];
    if (parts.length === 1 && typeof parts[0] === 'string') return this.segment(parts[0]);
    return parts.flatMap((p) => (typeof p === 'number' ? [p] : this.segment(p)));
  }

  /** Tokens of a text holding no added token. */
  private segment(text: string): number[] {
    const hit = this.cache.get(text);
    if (hit) return hit as number[];
    const ids: number[] = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    this.cache.set(text, ids);
    return ids;
  }

  /** Drops the post-processor's own special tokens where the text already has them (at its start only if the tail is the whole text). */
  private strip({ ids, from }: Tail): number[] {
    const start = from === 0 && startsWith(ids, this.before) ? this.before.length : 0;
    const end = endsWith(ids, this.after) && ids.length - this.after.length >= start ? ids.length - this.after.length : ids.length;
    return start === 0 && end === ids.length ? ids : ids.slice(start, end);
  }

  private wrap(body: readonly number[]): number[] {
    return [...this.before, ...body, ...this.after];
  }

  /**
   * Where the last turn (the response) starts in an item's encoded ids: where the prompt's own
   * tokenization stops matching the whole text's, counted from the end so a truncated prompt
   * does not move it. A text without a last-turn marker is all response; so is a pair's second text
   * onwards. Tokenizes the text again: for token rewards, on request only.
   */
  lastTurnStart(item: FormattedItem, ids: readonly number[]): number {
    const first = startsWith(ids, this.before) ? this.before.length : 0;
    if (item.prefix === null || item.second !== undefined) return first;
    const end = endsWith(ids, this.after) ? ids.length - this.after.length : ids.length;
    const whole = this.strip({ ids: this.tokenize(item.text), from: 0 });
    let prompt = this.tokenize(item.prefix);
    if (startsWith(prompt, this.before)) prompt = prompt.slice(this.before.length);
    return Math.max(first, end - (whole.length - commonPrefix(prompt, whole)));
  }

  /** Each id's vocabulary string (byte-level and special tokens as the vocabulary spells them). */
  tokenStrings(ids: readonly number[]): string[] {
    return ids.map((id) => this.tokenizer.id_to_token(id) ?? `<id ${id}>`);
  }
}
