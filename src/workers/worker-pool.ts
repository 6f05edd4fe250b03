import type { TransferListItem } from 'node:worker_threads';
import { WorkerError, type WorkerClient } from './worker-client.js';

/** Options of a {@link WorkerPool}. */
export interface WorkerPoolOptions {
  /** Called when a worker that had started dies and a replacement is started (count it). */
  onRestart?: (index: number, reason: Error) => void;
  /** Delay before a replacement that failed to start is tried again; doubles up to 5 s. */
  retryDelayMs?: number;
  /** Called whenever a worker may have become free: a call settled, or a worker started. */
  onAvailable?: () => void;
}

interface Waiting<Req, Res> {
  req: Req;
  transfer: readonly TransferListItem[];
  resolve: (r: Res) => void;
  reject: (e: Error) => void;
}

/**
 * A fixed number of worker slots, each running one call at a time. Further calls wait here,
 * on the parent side, so a worker that dies takes only the call it was running with it. A
 * worker that dies after starting is replaced at once; until the replacement is up the pool is
 * not `healthy` and calls go to the other workers (or wait for it).
 */
export class WorkerPool<Info, Req, Res> {
  private readonly slots: WorkerClient<Info, Req, Res>[];
  private readonly waiting: Waiting<Req, Res>[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<unknown>>();
  private closed = false;
  /** Busy time of the workers that were replaced. */
  private retiredBusyMs = 0;

  constructor(
    size: number,
    private readonly make: (index: number) => WorkerClient<Info, Req, Res>,
    private readonly opts: WorkerPoolOptions = {},
  ) {
    this.slots = Array.from({ length: size }, (_, i) => this.start(i, 0));
  }

  /** Number of worker slots: calls that can run at once. */
  get size(): number {
    return this.slots.length;
  }

  /** Every slot holds a started, living worker. */
  get healthy(): boolean {
    return this.slots.every((w) => w.alive);
  }

  /** The worker in each slot now. */
  get workers(): readonly WorkerClient<Info, Req, Res>[] {
    return this.slots;
  }

  /** Living workers running nothing: a call made now would start at once. */
  get idle(): number {
    return this.slots.reduce((n, w) => n + (w.alive && w.inFlight === 0 ? 1 : 0), 0);
  }

  /**
   * Busy milliseconds of every worker this pool has run, replaced ones included; never
   * decreases. (Counting only the workers in the slots made the sum drop at a restart, and the
   * busy-time counter then added the survivors' whole lifetime again.)
   */
  busyMs(): number {
    return this.slots.reduce((sum, w) => sum + w.busyMs(), this.retiredBusyMs);
  }

  /** Init info of every first worker, in order; rejects if any fails to start. */
  async ready(): Promise<Info[]> {
    // Reject only once every worker has settled: terminating a worker still inside ORT's native
    // session load (the other one failing first) can abort the whole process.
    const results = await Promise.allSettled(this.slots.map((w) => w.ready));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return results.map((r) => (r as PromiseFulfilledResult<Info>).value);
  }

  /** Runs `req` on the first idle worker. Rejects if the worker dies or the call fails. */
  call(req: Req, transfer: readonly TransferListItem[] = []): Promise<Res> {
    if (this.closed) return Promise.reject(new WorkerError('worker pool is closed'));
    return new Promise<Res>((resolve, reject) => {
      this.waiting.push({ req, transfer, resolve, reject });
      this.dispatch();
    });
  }

  /**
   * Fails the calls still waiting, lets the running ones finish, then stops the threads:
   * stopping a thread inside ONNX Runtime's session.run would abort the whole process.
   */
  async terminate(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    for (const job of this.waiting.splice(0)) job.reject(new WorkerError('worker pool is closed'));
    await Promise.allSettled([...this.running]);
    await Promise.all(this.slots.map((w) => w.terminate()));
  }

  private dispatch(): void {
    for (const w of this.slots) {
      if (this.waiting.length === 0) return;
      if (!w.alive || w.inFlight > 0) continue;
      const job = this.waiting.shift()!;
      const run = w.call(job.req, job.transfer);
      this.running.add(run);
      run
        .then(job.resolve, job.reject)
        .finally(() => {
          this.running.delete(run);
          this.dispatch();
          this.opts.onAvailable?.();
        });
    }
  }

  /** Starts the worker of slot `index`; `attempt` > 0 for replacements. */
  private start(index: number, attempt: number): WorkerClient<Info, Req, Res> {
    const w = this.make(index);
    w.ready.then(
      () => {
        this.dispatch();
        this.opts.onAvailable?.();
        void w.died.then((err) => this.replace(index, err));
      },
      (err: Error) => {
        // A first worker that fails to start fails ready(); its owner gives up the pool.
        if (attempt > 0) this.retry(index, attempt, err, w);
      },
    );
    return w;
  }

  private replace(index: number, reason: Error): void {
    if (this.closed) return;
    this.opts.onRestart?.(index, reason);
    this.retiredBusyMs += this.slots[index]!.busyMs();
    this.slots[index] = this.start(index, 1);
  }

  private retry(index: number, attempt: number, err: Error, failed: WorkerClient<Info, Req, Res>): void {
    void failed.terminate();
    if (this.closed) return;
    // No worker can answer the calls that wait: fail them rather than hold them indefinitely.
    if (!this.slots.some((w) => w.alive)) for (const job of this.waiting.splice(0)) job.reject(err);
    const delay = Math.min(5000, (this.opts.retryDelayMs ?? 100) * 2 ** (attempt - 1));
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.closed) return;
      this.retiredBusyMs += this.slots[index]!.busyMs();
      this.slots[index] = this.start(index, attempt + 1);
    }, delay);
    this.timers.add(timer);
  }
}
