import { ServiceError } from '../errors.js';
import type { Backend, BatchOutput } from '../infer/backend.js';
import type { ModelMetrics } from '../metrics.js';
import type { TokenizedBatch } from '../tokenize/tokenizer-pool.js';
import { msLeft } from '../util/deadline.js';
import { packRows } from '../util/pack-rows.js';
import { selectBatch } from './select-batch.js';
import { ServiceRate } from './service-rate.js';

/** Why a request's signal aborted: its own ServiceError (a deadline) or the client leaving. */
export function abortError(signal: AbortSignal): ServiceError {
  return signal.reason instanceof ServiceError ? signal.reason : new ServiceError('client_closed');
}

/** Longest hold `admissionRefusalsPerS` stretches a request's wait for room to. */
export const MAX_HOLD_MS = 60_000;

/** Limits of the dynamic batcher. */
export interface BatcherOptions {
  maxBatchSize: number;
  maxBatchTokens: number;
  maxWaitMs: number;
  maxQueueItems: number;
  /** Admission holds new requests while the queued items hold this many tokens (ids in memory). */
  maxQueueTokens: number;
  /** How long a request that finds the queue full waits for room before its 429; 0 = refuse at once. */
  admissionHoldMs: number;
  /**
   * Queue-full refusals per second the holds aim at: a request that starts waiting behind n others
   * waits (n + 1) / this seconds when that is longer than `admissionHoldMs` (at most
   * MAX_HOLD_MS); 0 = `admissionHoldMs` alone.
   */
  admissionRefusalsPerS: number;
  queueDeadlineMs: number;
  /** See SelectLimits.minEfficiency. */
  minPaddingEfficiency: number;
  /** A request that would wait longer than this behind the work already admitted gets 429; 0 = no bound. */
  maxQueueWaitMs: number;
  /**
   * Items a request still being tokenized puts ahead of a newcomer's: tokenizer threads take
   * requests in turns of one slice, so at most a slice of each (see TokenizerPool).
   */
  tokenizingShare: number;
}

/** Model output for the items of one request, in request order (see BatchOutput). */
export interface JobOutput {
  logits: Float32Array;
  numLabels: number;
  /** [items × numHeads], with a heads output. */
  heads?: Float32Array;
  numHeads?: number;
  /** Token-level models: per item, `width` values at each position read. */
  positions?: Float32Array[];
  width?: number;
  /** ms from queueing until the request's first batch started. */
  queueMs: number;
  /** ms from the first batch's start until the request's last result arrived. */
  inferenceMs: number;
}

/** One request's items in flight: resolves when its last item has been inferred. */
class Job {
  remaining: number;
  done = false;
  logits: Float32Array | null = null;
  numLabels = 0;
  heads: Float32Array | undefined;
  numHeads = 0;
  positions: Float32Array[] | undefined;
  width = 0;
  readonly queuedAt = performance.now();
  startedAt: number | null = null;
  constructor(
    readonly size: number,
    readonly resolve: (out: JobOutput) => void,
    readonly reject: (err: Error) => void,
  ) {
    this.remaining = size;
  }

  /** `offset`: where row `row`'s values start in `out.positions` (token-level models). */
  put(index: number, out: BatchOutput, row: number, offset: number): void {
    if (this.done) return;
    if (!this.logits) {
      this.numLabels = out.numLabels;
      this.logits = new Float32Array(this.size * out.numLabels);
    }
    this.logits.set(out.logits.subarray(row * out.numLabels, (row + 1) * out.numLabels), index * out.numLabels);
    if (out.heads) {
      const k = (this.numHeads = out.numHeads!);
      this.heads ??= new Float32Array(this.size * k);
      this.heads.set(out.heads.subarray(row * k, (row + 1) * k), index * k);
    }
    if (out.positions) {
      this.width = out.width!;
      this.positions ??= new Array<Float32Array>(this.size);
      this.positions[index] = out.positions.slice(offset, offset + out.counts![row]! * this.width);
    }
    if (--this.remaining === 0) {
      this.done = true;
      const started = this.startedAt ?? this.queuedAt;
      const result: JobOutput = { logits: this.logits, numLabels: this.numLabels, queueMs: started - this.queuedAt, inferenceMs: performance.now() - started };
      if (this.heads) Object.assign(result, { heads: this.heads, numHeads: this.numHeads });
      if (this.positions) Object.assign(result, { positions: this.positions, width: this.width });
      this.resolve(result);
    }
  }

  fail(err: Error): void {
    if (this.done) return;
    this.done = true;
    this.reject(err);
  }
}

interface QueuedItem {
  readonly ids: Int32Array;
  readonly typeIds: Uint8Array | undefined;
  /** Every position's value is wanted (token rewards), not only the step tags'. */
  readonly dense: boolean;
  readonly length: number;
  readonly enqueuedAt: number;
  readonly job: Job;
  readonly index: number;
}

/**
 * Capacity held for a request from admission until its items are queued or it gives up.
 * Admitting before tokenization means a request that would overflow the queue gets its 429
 * at once, before any work is spent on it.
 */
export class Ticket {
  /** Items still held by the ticket rather than by queued items. */
  held: number;
  constructor(
    readonly items: number,
    private readonly giveBack: (n: number) => void,
  ) {
    this.held = items;
  }

  /** Gives back capacity not yet handed to the queue; safe to call more than once. */
  release(): void {
    this.giveBack(this.held);
    this.held = 0;
  }
}

/** A request held at admission until the queue has room for it. */
interface Waiter {
  readonly items: number;
  admit(): void;
  refuse(err: Error): void;
}

/**
 * The dynamic batcher: items of all concurrent requests share one bounded queue; batches are
 * formed when a backend worker is free (plus one full batch prepared ahead, so the backend
 * never idles between batches at saturation); a partial batch waits at most `maxWaitMs` for
 * more items, and only while another batch is running.
 */
export class Batcher {
  private queue: QueuedItem[] = [];
  private reserved = 0;
  private inFlight = 0;
  private queuedTokens = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Requests not yet answered, queued or running. */
  private readonly jobs = new Set<Job>();
  private stopped: ServiceError | null = null;
  private readonly rate = new ServiceRate();
  /** Admitted requests not yet queued (being tokenized). */
  private readonly tickets = new Set<Ticket>();
  /** Requests that found the queue full, oldest first, waiting for room. */
  private readonly waiting: Waiter[] = [];

  constructor(
    private readonly backend: Backend,
    private readonly opts: BatcherOptions,
    private readonly metrics: ModelMetrics,
  ) {}

  /** Items admitted and not yet started in inference. */
  get depth(): number {
    return this.reserved;
  }

  /** Tokens the queued items hold. */
  get tokens(): number {
    return this.queuedTokens;
  }

  /** Requests held at admission, waiting for room in the queue. */
  get held(): number {
    return this.waiting.length;
  }

  /** Milliseconds the items waiting for inference would take at the measured drain rate; 0 until a rate is known. */
  backlogMs(): number {
    return this.drainMs(this.queue.length);
  }

  /** Milliseconds inference takes for `items` at the measured drain rate; 0 until a rate is known. */
  private drainMs(items: number): number {
    const rate = this.rate.perSecond;
    return rate === null ? 0 : (items * 1000) / rate;
  }

  /**
   * Admits `items` items. Clients wait in the queue: it is bounded by what it holds
   * (`maxQueueItems` items admitted, `maxQueueTokens` tokens queued), not by a guess of time.
   * Refused at once: a request whose `timeout_ms` the work ahead cannot meet at the measured drain
   * rate, one past `maxQueueWaitMs` when that bound is set, and any after shutdown began. A
   * request that finds the queue full waits for room, in arrival order, for its hold (`holdMs`:
   * `admissionHoldMs`, longer behind many waiters), then gets 429: clients that retry at once on
   * every 429 then cost about `admissionRefusalsPerS` refusals per second however many they are,
   * not a busy loop. Of a request still being tokenized only its current slice counts as ahead:
   * tokenizer threads are shared in turns.
   * @throws ServiceError `overloaded` (429); the signal's reason if it aborts while holding.
   */
  reserve(items: number, signal?: AbortSignal): Promise<Ticket> {
    if (this.stopped) return Promise.reject(this.stopped);
    // Until this request's first items are inferred: what is ahead, then its own first slice.
    let ahead = this.queue.length + Math.min(items, this.opts.tokenizingShare);
    for (const t of this.tickets) ahead += Math.min(t.held, this.opts.tokenizingShare);
    const waitMs = this.drainMs(ahead);
    // Retry-After: the seconds until the work ahead is back within the bound.
    const tooLong = (bound: number, why: string) =>
      Promise.reject(new ServiceError('overloaded', `The work already queued would take about ${Math.round(waitMs)} ms${why}`, { retryAfter: Math.max(1, Math.ceil((waitMs - bound) / 1000)) }));
    const left = msLeft(signal, performance.now());
    if (left !== undefined && waitMs > left) return tooLong(left, `, more than the ${Math.round(left)} ms left of timeout_ms; retry later or allow more time`);
    const bound = this.opts.maxQueueWaitMs;
    if (bound > 0 && waitMs > bound) return tooLong(bound, ` (MAX_QUEUE_WAIT_MS ${bound}); retry later`);
    if (this.waiting.length === 0 && this.fits(items)) return Promise.resolve(this.grant(items));
    if (this.opts.admissionHoldMs === 0) return Promise.reject(this.full(0));
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const holdMs = this.holdMs();
    return new Promise<Ticket>((resolve, reject) => {
      const waiter: Waiter = {
        items,
        admit: () => {
          settle();
          resolve(this.grant(items));
        },
        refuse: (err) => {
          settle();
          reject(err);
        },
      };
      const onAbort = () => waiter.refuse(abortError(signal!));
      const timer = setTimeout(() => waiter.refuse(this.full(holdMs)), holdMs);
      const settle = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  /** Whether `items` more fit the queue now. */
  private fits(items: number): boolean {
    return this.reserved + items <= this.opts.maxQueueItems && this.queuedTokens < this.opts.maxQueueTokens;
  }

  /**
   * The hold of a request that starts waiting now: `admissionHoldMs`, or longer behind many
   * waiters. Clients that retry at once keep n requests waiting; each waits about
   * n / admissionRefusalsPerS seconds, so n of them are refused in that time: the rate, whatever n.
   */
  private holdMs(): number {
    const { admissionHoldMs, admissionRefusalsPerS } = this.opts;
    if (admissionRefusalsPerS === 0) return admissionHoldMs;
    return Math.max(admissionHoldMs, Math.min(MAX_HOLD_MS, Math.ceil((1000 * (this.waiting.length + 1)) / admissionRefusalsPerS)));
  }

  private full(holdMs: number): ServiceError {
    const { maxQueueItems, maxQueueTokens, admissionHoldMs } = this.opts;
    const why = holdMs > admissionHoldMs ? `ADMISSION_HOLD_MS, longer behind the requests already waiting: ADMISSION_REFUSALS_PER_S` : 'ADMISSION_HOLD_MS';
    const held = holdMs > 0 ? ` for ${holdMs} ms (${why})` : '';
    return new ServiceError(
      'overloaded',
      `Queue is full${held}: ${this.reserved} of ${maxQueueItems} items, ${this.queuedTokens} of ${maxQueueTokens} tokens (MAX_QUEUE_ITEMS, MAX_QUEUE_TOKENS); retry later`,
      { retryAfter: 1 },
    );
  }

  private grant(items: number): Ticket {
    this.adjust(items);
    const ticket = new Ticket(items, (n) => {
      this.adjust(-n);
      this.tickets.delete(ticket);
    });
    this.tickets.add(ticket);
    return ticket;
  }

  /** Admits held requests, oldest first, while they fit; a request that does not fit keeps its place. */
  private admitWaiting(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.items)) this.waiting[0]!.admit();
  }

  /**
   * Queues a request's tokenized items under its ticket. Resolves with their model outputs in
   * request order. If `signal` aborts first, the items still queued are dropped before
   * inference and the promise rejects with the signal's reason if it is a ServiceError (a
   * deadline), else with `client_closed`.
   */
  submit(ticket: Ticket, batch: TokenizedBatch, signal?: AbortSignal): Promise<JobOutput> {
    ticket.held = 0; // the capacity now travels with the queued items
    this.tickets.delete(ticket);
    if (this.stopped) return Promise.reject(this.stopped);
    return new Promise<JobOutput>((resolve, reject) => {
      const job: Job = new Job(
        batch.lengths.length,
        (out) => {
          this.jobs.delete(job);
          resolve(out);
        },
        (err) => {
          this.jobs.delete(job);
          reject(err);
        },
      );
      this.jobs.add(job);
      const now = performance.now();
      let at = 0;
      for (let i = 0; i < batch.lengths.length; i++) {
        const length = batch.lengths[i]!;
        const typeIds = batch.typeIds?.subarray(at, at + length);
        const dense = batch.dense?.[i] === 1;
        this.queue.push({ ids: batch.ids.subarray(at, at + length), typeIds, dense, length, enqueuedAt: now, job, index: i });
        this.queuedTokens += length;
        at += length;
      }
      if (signal) {
        const onAbort = () => {
          if (job.done) return;
          const err = abortError(signal);
          this.cancel(job, err, err.code);
        };
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }
      this.pump();
    });
  }

  /**
   * Answers every request still queued or running with `err` (shutdown past its grace), so
   * none is cut off without a reply; later submits fail the same way.
   */
  abortAll(err: ServiceError): void {
    this.stopped = err;
    for (const w of [...this.waiting]) w.refuse(err);
    for (const job of [...this.jobs]) this.cancel(job, err, 'shutdown');
  }

  /** Fails a job and drops its items that are still queued. */
  private cancel(job: Job, err: Error, reason: string): void {
    if (job.done) return;
    job.fail(err);
    const before = this.queue.length;
    this.queue = this.queue.filter((q) => {
      if (q.job !== job) return true;
      this.queuedTokens -= q.length;
      return false;
    });
    const dropped = before - this.queue.length;
    if (dropped > 0) {
      this.metrics.dropped(reason, dropped);
      this.adjust(-dropped);
    }
    this.noteBusy();
  }

  private adjust(delta: number): void {
    this.reserved += delta;
    this.metrics.queueDepth.inc(delta);
    if (delta < 0) this.admitWaiting();
  }

  private pump(): void {
    this.schedule();
    this.noteBusy();
  }

  /** Inference is busy while items wait for it or run: the time the drain rate is measured over. */
  private noteBusy(): void {
    this.rate.setBusy(this.queue.length > 0 || this.inFlight > 0, performance.now());
  }

  private schedule(): void {
    const { maxBatchSize, maxBatchTokens, maxWaitMs } = this.opts;
    const workers = this.backend.concurrency;
    while (this.queue.length > 0 && this.inFlight <= workers) {
      const full = this.queue.length >= maxBatchSize || this.queuedTokens >= maxBatchTokens;
      // A batch prepared ahead of a free worker is chosen from what is queued now, so do it only
      // when the queue is deep enough (two batches) to group by length as well as later.
      const deep = this.queue.length >= 2 * maxBatchSize || this.queuedTokens >= 2 * maxBatchTokens;
      if (this.inFlight === workers && !deep) return;
      // Wait for a partial batch to fill only while another batch runs: with every worker idle,
      // waiting delays the batch that could start now and gains nothing (one client at a time).
      if (!full && this.inFlight > 0 && this.inFlight < workers) {
        const wait = maxWaitMs - (performance.now() - this.queue[0]!.enqueuedAt);
        if (wait > 0) {
          this.timer ??= setTimeout(() => {
            this.timer = null;
            this.pump();
          }, wait);
          return;
        }
      }
      const limits = { maxItems: maxBatchSize, maxTokens: maxBatchTokens, deadlineMs: this.opts.queueDeadlineMs, minEfficiency: this.opts.minPaddingEfficiency };
      this.dispatch(selectBatch(this.queue, limits, performance.now()));
    }
  }

  private dispatch(picked: number[]): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const chosen = new Set(picked);
    const items = picked.map((i) => this.queue[i]!);
    this.queue = this.queue.filter((_, i) => !chosen.has(i));
    const now = performance.now();
    let real = 0;
    let longest = 0;
    for (const it of items) {
      real += it.length;
      longest = Math.max(longest, it.length);
      this.metrics.queueWait.observe((now - it.enqueuedAt) / 1000);
      it.job.startedAt ??= now;
    }
    this.queuedTokens -= real;
    this.adjust(-items.length);
    const computed = longest * items.length;
    this.metrics.batchSize.observe(items.length);
    this.metrics.batchTokens.observe(computed);
    this.metrics.paddingRatio.observe(1 - real / computed);
    this.metrics.realTokens.inc(real);
    this.metrics.computedTokens.inc(computed);

    const batch = packRows(
      items.map((it) => it.ids),
      items.map((it) => it.typeIds),
    );
    if (items.some((it) => it.dense)) batch.dense = Uint8Array.from(items, (it) => (it.dense ? 1 : 0));
    this.inFlight++;
    const end = this.metrics.inferenceDuration.startTimer();
    let running: Promise<BatchOutput>;
    try {
      running = this.backend.run(batch);
    } catch (err) {
      running = Promise.reject(err); // a backend that throws fails this batch only
    }
    running
      .then(
        (out) => {
          this.metrics.inferredItems.inc(items.length);
          this.rate.completed(items.length, performance.now());
          let offset = 0;
          items.forEach((it, r) => {
            it.job.put(it.index, out, r, offset);
            offset += (out.counts?.[r] ?? 0) * (out.width ?? 0);
          });
        },
        (err: unknown) => {
          const failure = new ServiceError('inference_failed', undefined, { cause: err });
          for (const job of new Set(items.map((it) => it.job))) this.cancel(job, failure, 'inference_failed');
        },
      )
      .finally(() => {
        end();
        this.inFlight--;
        this.pump();
      });
  }
}
