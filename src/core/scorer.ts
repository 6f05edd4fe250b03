import { abortError, type Batcher } from '../batch/batcher.js';
import { ServiceError } from '../errors.js';
import type { InputFormat, ScoreItem } from '../format/format.js';
import type { ModelMetrics } from '../metrics.js';
import type { TruncationMode } from '../tokenize/token-encoder.js';
import type { ExplainedItem, TokenizedBatch, TokenizeFailure, TokenizerPool } from '../tokenize/tokenizer-pool.js';

/** Where one request's time went, in ms (sent as TEI-style x-*-time headers). */
export interface StageTimings {
  tokenizeMs: number;
  queueMs: number;
  inferenceMs: number;
}

/** Model outputs of one request's items, in request order. */
export interface ScoreResult {
  /** [items × numLabels], row-major (empty for a token-level model). */
  logits: Float32Array;
  numLabels: number;
  /** [items × numHeads], with a heads output. */
  heads?: Float32Array;
  numHeads?: number;
  /** Token-level models: per item, `width` values at each step tag (at every position with tokenRewards). */
  positions?: Float32Array[];
  width?: number;
  /** The items' ids, packed (item i has lengths[i]). */
  ids: Int32Array;
  lengths: Int32Array;
  /** With a step tag: per item, the tags of its whole text before truncation. */
  tags?: Int32Array;
  /** With tokenRewards: per item, its token strings and where its response starts. */
  explained?: ExplainedItem[];
  truncated: boolean[];
  /** Tokens the items occupy, special tokens included (padding excluded). */
  tokens: number;
  timings: StageTimings;
}

/** One item as the model would read it: rendered text, ids, token strings, truncation. */
export interface TokenizedItem extends ExplainedItem {
  ids: number[];
  truncated: boolean;
}

/** Options of one scoring call. */
export interface ScoreOptions {
  truncation: TruncationMode;
  /** How `{prompt, response}` items are rendered. */
  format: InputFormat;
  /** Read every position of a token-level model (token rewards), and explain the tokens. */
  tokenRewards?: boolean;
  /** Aborts when the client disconnects or its deadline passes: queued items are then dropped. */
  signal?: AbortSignal;
}

/** Runs items through the stages: format + tokenize (workers) → batch → infer. */
export class Scorer {
  constructor(
    private readonly maxLength: number,
    private readonly tokenizers: TokenizerPool,
    private readonly batcher: Batcher,
    private readonly metrics: ModelMetrics,
  ) {}

  async score(items: ScoreItem[], opts: ScoreOptions): Promise<ScoreResult> {
    const ticket = await this.batcher.reserve(items.length, opts.signal);
    try {
      const t0 = performance.now();
      const tokenized = await this.tokenize(items, opts, opts.tokenRewards === true, opts.signal);
      if (opts.tokenRewards) tokenized.dense = new Uint8Array(tokenized.lengths.length).fill(1);
      const tokenizeMs = performance.now() - t0;
      this.metrics.tokenizationDuration.observe(tokenizeMs / 1000);
      if (opts.signal?.aborted) throw abortError(opts.signal);
      const out = await this.batcher.submit(ticket, tokenized, opts.signal);
      return {
        logits: out.logits,
        numLabels: out.numLabels,
        ...(out.heads && { heads: out.heads, numHeads: out.numHeads! }),
        ...(out.positions && { positions: out.positions, width: out.width! }),
        ids: tokenized.ids,
        lengths: tokenized.lengths,
        ...(tokenized.tags && { tags: tokenized.tags }),
        ...(tokenized.explained && { explained: tokenized.explained }),
        truncated: Array.from(tokenized.truncated, (t) => t === 1),
        tokens: tokenized.lengths.reduce((a, b) => a + b, 0),
        timings: { tokenizeMs, queueMs: out.queueMs, inferenceMs: out.inferenceMs },
      };
    } finally {
      ticket.release();
    }
  }

  /** What the items render and tokenize to, exactly as score() would feed them to the model. */
  async explain(items: ScoreItem[], opts: Omit<ScoreOptions, 'signal'>): Promise<TokenizedItem[]> {
    const { ids, lengths, truncated, explained } = await this.tokenize(items, opts, true);
    let at = 0;
    return explained!.map((e, i) => {
      const start = at;
      at += lengths[i]!;
      return { ...e, ids: Array.from(ids.subarray(start, at)), truncated: truncated[i] === 1 };
    });
  }

  /** Formats and tokenizes in the workers; an item that cannot be encoded refuses the request. */
  private async tokenize(items: ScoreItem[], opts: Omit<ScoreOptions, 'signal'>, explain: boolean, signal?: AbortSignal): Promise<TokenizedBatch> {
    let tokenized;
    try {
      tokenized = await this.tokenizers.tokenize(items, opts.format, opts.truncation, explain, signal);
    } catch (err) {
      // A client gone or a deadline passed stops tokenizing at once (the reservation goes too).
      if (signal?.aborted) throw abortError(signal);
      throw new ServiceError('internal_error', 'Tokenization failed', { cause: err });
    }
    if ('failure' in tokenized) throw this.refused(tokenized.failure);
    return tokenized;
  }

  private refused(f: TokenizeFailure): ServiceError {
    if ('message' in f) return new ServiceError(f.code, `Item ${f.index}: ${f.message}`);
    const what = f.code === 'item_too_long' ? 'has' : 'has a response of';
    return new ServiceError(f.code, `Item ${f.index} ${what} ${f.atLeast ? 'more than ' : ''}${f.length} tokens; max_length is ${this.maxLength}`);
  }
}
