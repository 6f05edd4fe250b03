import { Worker, type TransferListItem } from 'node:worker_threads';

/** Messages a worker started with {@link serveWorker} sends to its parent. */
export type WorkerMessage<Info, Res> =
  | { type: 'ready'; info: Info }
  | { type: 'init_error'; message: string }
  | { type: 'result'; id: number; result: Res }
  | { type: 'error'; id: number; message: string };

interface Pending<Res> {
  resolve: (r: Res) => void;
  reject: (e: Error) => void;
}

/** Raised when a worker dies or fails a call; `message` is safe to log, never sent to clients. */
export class WorkerError extends Error {
  override name = 'WorkerError';
}

/**
 * One worker thread answering requests in order of arrival. The parent side of a tiny
 * request/response protocol: a call is a message with an id, the answer carries it back.
 */
export class WorkerClient<Info, Req, Res> {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending<Res>>();
  private nextId = 0;
  private dead: Error | null = null;
  /** Resolves with the worker's init info, or rejects with its init error. */
  readonly ready: Promise<Info>;

  constructor(url: URL, workerData: unknown, name: string) {
    this.worker = new Worker(url, { workerData, name });
    this.ready = new Promise<Info>((resolve, reject) => {
      this.worker.on('message', (msg: WorkerMessage<Info, Res>) => {
        if (msg.type === 'ready') resolve(msg.info);
        else if (msg.type === 'init_error') reject(new WorkerError(msg.message));
        else this.settle(msg);
      });
      const fail = (err: Error) => {
        this.dead = err;
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      };
      this.worker.on('error', (err) => fail(new WorkerError(`${name} worker crashed: ${err.message}`)));
      this.worker.on('exit', (code) => fail(new WorkerError(`${name} worker exited with code ${code}`)));
    });
    this.ready.catch(() => {}); // observed by whoever awaits it; avoid an unhandled rejection
  }

  /** Calls in flight on this worker. */
  get inFlight(): number {
    return this.pending.size;
  }

  call(req: Req, transfer: readonly TransferListItem[] = []): Promise<Res> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<Res>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, req }, transfer);
    });
  }

  async terminate(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }

  private settle(msg: Extract<WorkerMessage<Info, Res>, { id: number }>): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.type === 'result') p.resolve(msg.result);
    else p.reject(new WorkerError(msg.message));
  }
}

/** A fixed set of workers; each call goes to the one with the fewest calls in flight. */
export class WorkerPool<Info, Req, Res> {
  readonly workers: WorkerClient<Info, Req, Res>[];

  constructor(size: number, make: (index: number) => WorkerClient<Info, Req, Res>) {
    this.workers = Array.from({ length: size }, (_, i) => make(i));
  }

  /**
   * Init info of every worker, in order; rejects if any fails to start, but only once all have
   * settled: terminating a worker still inside ORT's native session load can crash the process.
   */
  async ready(): Promise<Info[]> {
    const results = await Promise.allSettled(this.workers.map((w) => w.ready));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return results.map((r) => (r as PromiseFulfilledResult<Info>).value);
  }

  call(req: Req, transfer: readonly TransferListItem[] = []): Promise<Res> {
    let best = this.workers[0]!;
    for (const w of this.workers) if (w.inFlight < best.inFlight) best = w;
    return best.call(req, transfer);
  }

  async terminate(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
