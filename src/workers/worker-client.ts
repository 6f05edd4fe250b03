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
  private up = false;
  private stopping = false;
  private lastBusyMs = 0;
  /** Resolves with the worker's init info, or rejects with its init error. */
  readonly ready: Promise<Info>;
  /** Resolves with the reason once the thread has died on its own (not by {@link terminate}). */
  readonly died: Promise<Error>;
  /** The thread's `threadId`, kept after it exits (the Worker's own reads -1 then). */
  readonly threadId: number;

  constructor(url: URL, workerData: unknown, name: string) {
    this.worker = new Worker(url, { workerData, name });
    this.threadId = this.worker.threadId;
    let onDeath!: (err: Error) => void;
    this.died = new Promise((resolve) => (onDeath = resolve));
    this.ready = new Promise<Info>((resolve, reject) => {
      this.worker.on('message', (msg: WorkerMessage<Info, Res>) => {
        if (msg.type === 'ready') {
          this.up = true;
          resolve(msg.info);
        } else if (msg.type === 'init_error') reject(new WorkerError(msg.message));
        else this.settle(msg);
      });
      const fail = (err: Error) => {
        this.dead ??= err;
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        if (!this.stopping) onDeath(this.dead);
      };
      this.worker.on('error', (err) => fail(new WorkerError(`${name} worker crashed: ${err.message}`)));
      this.worker.on('exit', (code) => fail(new WorkerError(`${name} worker exited with code ${code}`)));
    });
    this.ready.catch(() => {}); // observed by whoever awaits it; avoid an unhandled rejection
  }

  /**
   * Milliseconds the thread's event loop has been busy since it started (event-loop
   * utilization); never decreases. A thread that has exited reads 0 from Node, so once it is
   * dead this keeps the last value read.
   */
  busyMs(): number {
    if (!this.dead) this.lastBusyMs = Math.max(this.lastBusyMs, this.worker.performance.eventLoopUtilization().active);
    return this.lastBusyMs;
  }

  /** Calls in flight on this worker. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Initialised and not dead: calls sent now will be answered. */
  get alive(): boolean {
    return this.up && !this.dead;
  }

  call(req: Req, transfer: readonly TransferListItem[] = []): Promise<Res> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<Res>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, req }, transfer);
    });
  }

  /**
   * Makes the thread end itself with `process.exit(code)` before it takes its next call, as a
   * fatal error would: calls sent to it fail and {@link died} resolves. For fault drills and
   * tests. (Worker.terminate() is no substitute: stopping a thread inside ONNX Runtime's
   * session.run aborts the whole process with an uncaught Napi::Error.)
   */
  async crash(code = 70): Promise<void> {
    this.worker.postMessage({ exit: code });
    await this.died;
  }

  /** Stops the thread; calls still in flight fail. */
  async terminate(): Promise<void> {
    this.stopping = true;
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
