import type { InputFormat, ScoreItem } from '../format/format.js';
import type { ModelFolder } from '../model/model-folder.js';
import type { PackedRows } from '../util/pack-rows.js';
import { WorkerClient } from '../workers/worker-client.js';
import { WorkerPool } from '../workers/worker-pool.js';
import { itemChars, joinSlices, sliceStarts, type SliceLimits } from './slices.js';
import type { EncodeFailure, TruncationMode } from './token-encoder.js';

/** What a tokenizer worker is started with. */
export interface TokenizeWorkerData {
  tokenizerJson: object;
  tokenizerConfig: object;
  maxLength: number;
  /** reward.json's `{prompt}`/`{response}` template. */
  template: string;
  /** tokenizer_config.json's chat template (Jinja), if any. */
  chatTemplate: string | null;
  /** Special-token strings the chat template may use (bos_token, eos_token, …). */
  specialTokens: Record<string, string>;
  /** TOKENIZER_LIBRARY: who tokenizes (TokenEncoder's truncation is the same for both). */
  library: 'huggingface' | 'rust';
  /** A process reward model's step tag: each item's count of it, before truncation, is returned. */
  stepTag: string | null;
  /** Token cache lookups, [hits, misses], on shared memory (TokenizerPool sets it; see TokenCache). */
  cacheCounts?: BigInt64Array;
}

/** What the tokenizer workers of a model folder start with. */
export function tokenizeWorkerData(folder: ModelFolder, library: TokenizeWorkerData['library']): TokenizeWorkerData {
  return {
    tokenizerJson: folder.tokenizerJson,
    tokenizerConfig: folder.tokenizerConfig,
    maxLength: folder.reward.maxLength,
    template: folder.reward.template,
    chatTemplate: folder.chatTemplate,
    specialTokens: { ...folder.specialTokens },
    library,
    stepTag: folder.reward.steps?.tag ?? null,
  };
}

/** What a tokenizer worker reports once loaded. */
export interface TokenizeInfo {
  specialTokens: number;
  /** Whether the tokenizer has a pair template (for `"format": "pair"`). */
  pairs: boolean;
}

/** One request's items, formatted and tokenized in the worker (rendering a chat template costs ~0.1 ms). */
export interface TokenizeRequest {
  items: ScoreItem[];
  format: InputFormat;
  mode: TruncationMode;
  /** Also return what each item was rendered to and its token strings (POST /tokenize). */
  explain?: boolean;
}

/** What one item was rendered to and its tokens as vocabulary strings (special tokens included). */
export interface ExplainedItem {
  text: string;
  /** The second text of a pair item. */
  textPair?: string;
  tokens: string[];
  /** Index in the ids where the last turn (the response) starts. */
  responseStart: number;
}

/** Token ids of a whole request, packed by packRows, and which items were truncated. */
export interface TokenizedBatch extends PackedRows {
  truncated: Uint8Array;
  /** With a step tag: per item, how many tags its whole rendered text holds (before truncation). */
  tags?: Int32Array;
  /** With `explain`: per item, in request order. */
  explained?: ExplainedItem[];
}

/** Why an item could not be tokenized: too long, or refused by the chat template. */
export type TokenizeFailure =
  | (EncodeFailure & { index: number })
  | { index: number; code: 'no_chat_template' | 'chat_template_error'; message: string };

/** A request fails as a whole at its first item that cannot be encoded. */
export type TokenizeResult = TokenizedBatch | { failure: TokenizeFailure };

/**
 * A slice of a request: enough work that others wait little behind it (a single item over the
 * limit still goes alone), enough that a worker message is worth its round trip.
 */
export const SLICE_LIMITS: SliceLimits = { maxItems: 64, maxChars: 32_768 };
/** What one worker message may carry: slices of several requests, one each. */
const MESSAGE: SliceLimits = { maxItems: 256, maxChars: 65_536 };

/** One request being tokenized, slice by slice. */
interface Job {
  req: TokenizeRequest;
  /** First item of each slice. */
  starts: number[];
  /** Characters of each slice. */
  sliceChars: number[];
  /** Answers of the slices done so far. */
  results: TokenizeResult[];
  settled: boolean;
  /** performance.now() when its next slice began to wait for a worker. */
  queuedAt: number;
  resolve: (r: TokenizeResult) => void;
  reject: (e: unknown) => void;
  detach?: () => void;
}

/**
 * Gathering one-item requests into bigger worker messages while inference is behind anyway. A
 * message of many items costs the worker (and the event loop) less per item than many messages
 * of one, and waiting costs nothing while the inference queue holds more work than the wait:
 * the items would have waited there instead.
 */
export interface Gather {
  /** Longest a request waits to be gathered; a wait is only begun while backlogMs() exceeds it. */
  waitMs: number;
  /** Milliseconds of work queued for inference now (items waiting ÷ drain rate). */
  backlogMs: () => number;
}

/** A message this size goes at once: more gathering would not make it cheaper per item. */
export const GATHER_ITEMS = 32;

/** What a TokenizerPool is built with besides its workers. */
export interface TokenizerPoolOptions {
  /** Called when a dead worker is replaced. */
  onRestart?: () => void;
  /** Gathers small requests while inference is behind (see Gather); without it, a free worker takes what waits at once. */
  gather?: Gather;
}

/**
 * Tokenizer worker threads, shared fairly. A request is cut into slices (see SLICE_LIMITS), and a
 * request has one slice at a worker at a time; each worker message carries the next slice of
 * as many waiting requests as fit (round robin), so a huge request advances a slice per turn
 * while one-item requests ride along in the same messages — an RL trainer's one-item traffic
 * costs one round trip per group, not per request (and while inference is behind, such requests
 * wait a little to form bigger groups: see Gather). A request whose signal aborts (client gone,
 * deadline) is dropped at once: none of its remaining slices is tokenized.
 */
export class TokenizerPool {
  private readonly pool: WorkerPool<TokenizeInfo, TokenizeRequest[], TokenizeResult[]>;
  /** Requests with a slice ready to go, in turn order. */
  private readonly turns: Job[] = [];
  private readonly jobs = new Set<Job>();
  private sent = 0;
  private flushing = false;
  private readonly gather: Gather | null;
  /** Fires when the oldest gathering request has waited its longest. */
  private gatherTimer: NodeJS.Timeout | null = null;
  /** The workers' token cache lookups, [hits, misses]: shared, so replacements keep counting on. */
  private readonly cacheCounts = new BigInt64Array(new SharedArrayBuffer(16));

  constructor(size: number, data: TokenizeWorkerData, opts: TokenizerPoolOptions = {}) {
    const url = new URL('./tokenize-worker.js', import.meta.url);
    this.gather = opts.gather ?? null;
    const withCounts: TokenizeWorkerData = { ...data, cacheCounts: this.cacheCounts };
    this.pool = new WorkerPool(size, (i) => new WorkerClient(url, withCounts, `tokenizer-${i}`), {
      onRestart: () => opts.onRestart?.(),
      onAvailable: () => this.flushSoon(),
    });
  }

  /** False while a dead worker is being replaced. */
  get healthy(): boolean {
    return this.pool.healthy;
  }

  /** Worker messages sent so far (each carries one or more requests). */
  get messages(): number {
    return this.sent;
  }

  /** Long texts (a prompt shared by many items) the workers found in their token caches, and those they tokenized. */
  cacheLookups(): { hit: number; miss: number } {
    return { hit: Number(Atomics.load(this.cacheCounts, 0)), miss: Number(Atomics.load(this.cacheCounts, 1)) };
  }

  /** Busy milliseconds of the tokenizer threads (see WorkerPool.busyMs). */
  busyMs(): number {
    return this.pool.busyMs();
  }

  async ready(): Promise<TokenizeInfo> {
    const infos = await this.pool.ready();
    return infos[0]!;
  }

  /**
   * Formats and tokenizes a request's items. Rejects with the signal's reason as soon as it
   * aborts; the slice at a worker then is finished and discarded, the rest never sent.
   */
  tokenize(items: ScoreItem[], format: InputFormat, mode: TruncationMode, explain = false, signal?: AbortSignal): Promise<TokenizeResult> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const chars = items.map(itemChars);
      const starts = sliceStarts(chars, SLICE_LIMITS);
      const sliceChars = starts.map((from, k) => chars.slice(from, starts[k + 1] ?? chars.length).reduce((a, b) => a + b, 0));
      const job: Job = { req: { items, format, mode, ...(explain && { explain }) }, starts, sliceChars, results: [], settled: false, queuedAt: performance.now(), resolve, reject };
      if (signal) {
        const onAbort = () => this.settle(job, () => reject(signal.reason));
        signal.addEventListener('abort', onAbort, { once: true });
        job.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.jobs.add(job);
      this.turns.push(job);
      this.flushSoon();
    });
  }

  /** Ends a job once: it leaves the turn order, and its abort listener is removed. */
  private settle(job: Job, finish: () => void): void {
    if (job.settled) return;
    job.settled = true;
    job.detach?.();
    this.jobs.delete(job);
    const at = this.turns.indexOf(job);
    if (at >= 0) this.turns.splice(at, 1);
    finish();
  }

  /** A job's next slice: its items [from, to) and their characters. */
  private nextRange(job: Job): { from: number; to: number; chars: number } {
    const k = job.results.length;
    return { from: job.starts[k]!, to: job.starts[k + 1] ?? job.req.items.length, chars: job.sliceChars[k]! };
  }

  /** The items of a job's next slice, as a request of their own. */
  private nextSlice(job: Job): TokenizeRequest {
    const { from, to } = this.nextRange(job);
    return from === 0 && to === job.req.items.length ? job.req : { ...job.req, items: job.req.items.slice(from, to) };
  }

  /**
   * Flushes once the event loop has read every request that arrived together: one-item requests
   * read in the same turn share one worker message instead of each paying its own round trip.
   */
  private flushSoon(): void {
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => {
      this.flushing = false;
      this.flush();
    });
  }

  /** Whether the waiting slices should wait for more to join them; if so, a timer ends the wait. */
  private gathering(): boolean {
    const g = this.gather;
    if (g === null || g.waitMs <= 0 || this.turns.length === 0) return false;
    let items = 0;
    for (const job of this.turns) {
      const { from, to } = this.nextRange(job);
      items += to - from;
      if (items >= GATHER_ITEMS) return false;
    }
    const left = this.turns[0]!.queuedAt + g.waitMs - performance.now();
    if (left <= 0 || g.backlogMs() <= g.waitMs) return false;
    this.gatherTimer ??= setTimeout(() => {
      this.gatherTimer = null;
      this.flush();
    }, left);
    return true;
  }

  /** Sends each idle worker the next slice of as many waiting jobs as fit in a message, in turn. */
  private flush(): void {
    if (this.pool.idle > 0 && this.gathering()) return;
    if (this.gatherTimer) {
      clearTimeout(this.gatherTimer);
      this.gatherTimer = null;
    }
    while (this.turns.length > 0 && this.pool.idle > 0) {
      const taken: Job[] = [];
      let items = 0;
      let chars = 0;
      while (this.turns.length > 0) {
        const { from, to, chars: c } = this.nextRange(this.turns[0]!);
        const n = to - from;
        if (taken.length > 0 && (items + n > MESSAGE.maxItems || chars + c > MESSAGE.maxChars)) break;
        taken.push(this.turns.shift()!);
        items += n;
        chars += c;
      }
      this.sent++;
      this.pool.call(taken.map((job) => this.nextSlice(job))).then(
        (results) => taken.forEach((job, i) => this.sliceDone(job, results[i]!)),
        (err: Error) => taken.forEach((job) => this.settle(job, () => job.reject(err))),
      );
    }
  }

  private sliceDone(job: Job, result: TokenizeResult): void {
    if (job.settled) return;
    job.results.push(result);
    if ('failure' in result || job.results.length === job.starts.length) {
      this.settle(job, () => job.resolve(joinSlices(job.results, job.starts)));
    } else {
      job.queuedAt = performance.now();
      this.turns.push(job); // to the back: the others' turn first
    }
  }

  close(): Promise<void> {
    if (this.gatherTimer) clearTimeout(this.gatherTimer);
    this.gatherTimer = null;
    for (const job of [...this.jobs]) this.settle(job, () => job.reject(new Error('tokenizer pool is closed')));
    return this.pool.terminate();
  }
}
