import { abortError, type Batcher } from '../batch/batcher.js';
import { ServiceError } from '../errors.js';
import { Formatter, type ScoreItem } from '../format/format.js';
import type { Metrics } from '../metrics.js';
import { rewardsFrom } from '../postprocess/postprocess.js';
import type { TruncationMode } from '../tokenize/token-encoder.js';
import type { TokenizerPool } from '../tokenize/tokenizer-pool.js';

/** Rewards of one request's items, in request order. */
export interface ScoreResult {
  rewards: number[];
  truncated: boolean[];
  /** Tokens the items occupy, special tokens included (padding excluded). */
  tokens: number;
}

/** Options of one scoring call. */
export interface ScoreOptions {
  truncation: TruncationMode;
  /** Aborts when the client disconnects or its deadline passes: queued items are then dropped. */
  signal?: AbortSignal;
}

/** Runs items through the stages: format → tokenize → batch → infer → postprocess. */
export class Scorer {
  private readonly formatter: Formatter;

  constructor(
    template: string,
    private readonly maxLength: number,
    private readonly head: number,
    private readonly tokenizers: TokenizerPool,
    private readonly batcher: Batcher,
    private readonly metrics: Metrics,
  ) {
    this.formatter = new Formatter(template);
  }

  async score(items: ScoreItem[], opts: ScoreOptions): Promise<ScoreResult> {
    const ticket = this.batcher.reserve(items.length);
    try {
      const t0 = performance.now();
      let tokenized;
      try {
        tokenized = await this.tokenizers.tokenize(items.map((it) => this.formatter.format(it)), opts.truncation);
      } catch (err) {
        this.metrics.failures.inc({ reason: 'tokenization_failed' });
        throw new ServiceError('internal_error', 'Tokenization failed', { cause: err });
      }
      this.metrics.tokenizationDuration.observe((performance.now() - t0) / 1000);
      if ('failure' in tokenized) {
        const f = tokenized.failure;
        this.metrics.failures.inc({ reason: 'truncation' });
        const what = f.code === 'item_too_long' ? 'has' : 'has a response of';
        throw new ServiceError(f.code, `Item ${f.index} ${what} ${f.length} tokens; max_length is ${this.maxLength}`);
      }
      if (opts.signal?.aborted) {
        const err = abortError(opts.signal);
        this.metrics.failures.inc({ reason: err.code });
        throw err;
      }
      const out = await this.batcher.submit(ticket, tokenized, opts.signal);
      return {
        rewards: rewardsFrom(out.logits, out.numLabels, this.head),
        truncated: Array.from(tokenized.truncated, (t) => t === 1),
        tokens: tokenized.lengths.reduce((a, b) => a + b, 0),
      };
    } finally {
      ticket.release();
    }
  }
}
