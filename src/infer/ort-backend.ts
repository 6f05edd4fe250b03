import { packedBuffers } from '../util/pack-rows.js';
import { WorkerClient } from '../workers/worker-client.js';
import { WorkerPool } from '../workers/worker-pool.js';
import type { Backend, BackendInfo, BatchOutput, ExecutionProvider, GraphOptimization, OutputPlan, PrefixStats, TokenBatch } from './backend.js';
import type { OrtWorkerData, PrefixReuse } from './ort-worker.js';

/** Settings of the ONNX Runtime backend. */
export interface OrtBackendOptions {
  modelPath: string;
  workers: number;
  intraOpThreads: number;
  /** ORT's CPU memory arena and memory patterns (off: each batch's buffers are freed, not kept at the arena's peak). */
  memArena: boolean;
  /** Intra-op threads spin while waiting for work (ORT's default); off yields the core at once. */
  spinning?: boolean;
  padTokenId: number;
  /** Outputs to read; defaults to `logits` alone. */
  outputs?: OutputPlan;
  /** Defaults to all. */
  graphOptimization?: GraphOptimization;
  /** Defaults to cpu. */
  executionProvider?: ExecutionProvider;
  deviceId?: number;
  /** With cuda: run on CPU (and say why in info.fallbackReason) when CUDA cannot start. */
  allowCpuFallback?: boolean;
  /** Called when a dead worker is replaced by a fresh session. */
  onWorkerRestart?: () => void;
  /** Prefix reuse (each worker keeps its own prefixes); absent = off. */
  prefix?: PrefixReuse;
  /** Called with what prefix reuse did in each batch. */
  onPrefixStats?: (stats: PrefixStats) => void;
}

/** ONNX Runtime on CPU or CUDA: one session per worker thread; batches go to the least busy worker. */
export class OrtBackend implements Backend {
  /** Bytes each worker's prefix cache holds, by threadId. */
  private readonly cacheBytes = new Map<number, number>();

  private constructor(
    private readonly pool: WorkerPool<BackendInfo, TokenBatch, BatchOutput>,
    readonly info: BackendInfo,
    private readonly onPrefixStats?: (stats: PrefixStats) => void,
  ) {}

  get concurrency(): number {
    return this.pool.size;
  }

  /** False while a dead worker is being replaced by a fresh session. */
  get healthy(): boolean {
    return this.pool.healthy;
  }

  /**
   * Makes worker `index` exit before it takes its next batch, as a fatal error would; that
   * batch fails (fault drills and tests). Resolves when the thread has died.
   */
  crashWorker(index: number): Promise<void> {
    return this.pool.workers[index]!.crash();
  }

  /** Starts the workers and waits until every session is loaded. */
  static async create(opts: OrtBackendOptions): Promise<OrtBackend> {
    const url = new URL('./ort-worker.js', import.meta.url);
    const data: OrtWorkerData = {
      modelPath: opts.modelPath,
      intraOpThreads: opts.intraOpThreads,
      memArena: opts.memArena,
      spinning: opts.spinning ?? true,
      padTokenId: opts.padTokenId,
      outputs: opts.outputs ?? { reward: 'logits' },
      graphOptimization: opts.graphOptimization ?? 'all',
      executionProvider: opts.executionProvider ?? 'cpu',
      deviceId: opts.deviceId ?? 0,
      allowCpuFallback: opts.allowCpuFallback ?? false,
      ...(opts.prefix && { prefix: opts.prefix }),
    };
    let backend: OrtBackend | undefined;
    const pool: WorkerPool<BackendInfo, TokenBatch, BatchOutput> = new WorkerPool(opts.workers, (i) => new WorkerClient(url, data, `ort-${i}`), {
      onRestart: (i) => {
        opts.onWorkerRestart?.();
        // The slot still holds the dead worker here.
        backend?.forget(pool.workers[i]!.threadId);
      },
    });
    try {
      const infos = await pool.ready();
      backend = new OrtBackend(pool, infos[0]!, opts.onPrefixStats);
      return backend;
    } catch (err) {
      await pool.terminate();
      throw err;
    }
  }

  run(batch: TokenBatch): Promise<BatchOutput> {
    // The packed arrays belong to this batch alone, so hand them over instead of copying.
    const out = this.pool.call(batch, packedBuffers(batch));
    const report = this.onPrefixStats;
    if (!report) return out;
    return out.then((o) => {
      if (o.prefix) {
        this.cacheBytes.set(o.prefix.worker, (this.cacheBytes.get(o.prefix.worker) ?? 0) + o.prefix.bytesDelta);
        report(o.prefix);
      }
      return o;
    });
  }

  /** A dead worker's prefix cache died with it: its bytes leave the gauge. */
  private forget(threadId: number): void {
    const bytes = this.cacheBytes.get(threadId);
    this.cacheBytes.delete(threadId);
    if (bytes) this.onPrefixStats?.({ worker: threadId, hits: 0, misses: 0, reusedTokens: 0, evictions: 0, bytesDelta: -bytes });
  }

  busyMs(): number {
    return this.pool.busyMs();
  }

  close(): Promise<void> {
    return this.pool.terminate();
  }
}
