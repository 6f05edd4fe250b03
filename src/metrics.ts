import client from 'prom-client';

/** Prefix of every metric the service exports. */
export const METRIC_PREFIX = 'reward_';

const secondsBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * All metrics of one service instance, on their own registry (tests build several apps in
 * one process). Each stage records its own figures where the work happens.
 */
export function createMetrics() {
  const registry = new client.Registry();
  // Busy-time readers (cumulative ms) by pool; the counter adds what each gained since the last scrape.
  const busy: { pool: string; read: () => number; last: number }[] = [
    { pool: 'main', read: () => performance.eventLoopUtilization().active, last: 0 },
  ];
  client.collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  const registers = [registry];
  const seconds = (name: string, help: string) =>
    new client.Histogram({ name: `${METRIC_PREFIX}${name}`, help, buckets: secondsBuckets, registers });
  return {
    registry,
    requestDuration: new client.Histogram({
      name: `${METRIC_PREFIX}http_request_duration_seconds`,
      help: 'HTTP request duration by route, method and status',
      labelNames: ['route', 'method', 'status'] as const,
      buckets: secondsBuckets,
      registers,
    }),
    queueWait: seconds('queue_wait_seconds', 'Time an item waits in the batch queue before its batch starts'),
    tokenizationDuration: seconds('tokenization_duration_seconds', 'Time to tokenize one request, worker round trip included'),
    inferenceDuration: seconds('inference_duration_seconds', 'Time to run one batch through the backend'),
    batchSize: new client.Histogram({
      name: `${METRIC_PREFIX}batch_size`,
      help: 'Items per inference batch',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers,
    }),
    batchTokens: new client.Histogram({
      name: `${METRIC_PREFIX}batch_tokens`,
      help: 'Tokens computed per batch (batch size × longest item)',
      buckets: [64, 256, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072],
      registers,
    }),
    paddingRatio: new client.Histogram({
      name: `${METRIC_PREFIX}batch_padding_ratio`,
      help: 'Share of computed tokens that are padding, per batch',
      buckets: [0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 0.9],
      registers,
    }),
    tokens: new client.Counter({
      name: `${METRIC_PREFIX}tokens_total`,
      help: 'Tokens through inference: kind="real" are item tokens, kind="computed" include padding',
      labelNames: ['kind'] as const,
      registers,
    }),
    inferredItems: new client.Counter({
      name: `${METRIC_PREFIX}inferred_items_total`,
      help: 'Items run through the model',
      registers,
    }),
    queueDepth: new client.Gauge({
      name: `${METRIC_PREFIX}queue_depth`,
      help: 'Items accepted and waiting for a batch (tokenizing or queued)',
      registers,
    }),
    failures: new client.Counter({
      name: `${METRIC_PREFIX}failures_total`,
      help: 'Error responses by error code (src/errors.ts), counted where the error becomes a response',
      labelNames: ['reason'] as const,
      registers,
    }),
    modelInfo: new client.Gauge({
      name: `${METRIC_PREFIX}model_info`,
      help: 'Always 1 per loaded model; labels say where it runs (execution_provider is the one actually used)',
      labelNames: ['model', 'execution_provider', 'requested_provider', 'device'] as const,
      registers,
    }),
    workerRestarts: new client.Counter({
      name: `${METRIC_PREFIX}worker_restarts_total`,
      help: 'Worker threads that died and were replaced, by pool',
      labelNames: ['pool'] as const,
      registers,
    }),
    threadBusy: new client.Counter({
      name: `${METRIC_PREFIX}thread_busy_seconds_total`,
      help: 'Seconds the event loop (pool="main") and the worker threads of each pool were busy (event-loop utilization, wall clock: a busy thread waiting for a core counts)',
      labelNames: ['pool'] as const,
      registers,
      collect() {
        for (const b of busy) {
          const now = b.read();
          // Sources never decrease (WorkerPool.busyMs keeps replaced workers' time); should one
          // ever do, restart from its new value rather than count its whole total again.
          const gained = now - b.last;
          b.last = now;
          if (gained > 0) this.inc({ pool: b.pool }, gained / 1000);
        }
      },
    }),
    /** Adds a busy-time reader (cumulative ms) to reward_thread_busy_seconds_total{pool}. */
    addBusySource(pool: 'tokenize' | 'infer', read: () => number): void {
      busy.push({ pool, read, last: 0 });
    },
    connectionsRefused: new client.Counter({
      name: `${METRIC_PREFIX}connections_refused_total`,
      help: 'Client connections closed before any request was read: past MAX_CONNECTIONS (max_connections), an accept error such as EMFILE (accept_error), or no request within HEADERS_TIMEOUT_MS (no_request)',
      labelNames: ['reason'] as const,
      registers,
    }),
    droppedItems: new client.Counter({
      name: `${METRIC_PREFIX}dropped_items_total`,
      help: 'Queued items dropped before inference, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
  };
}

/** The metrics of one service instance. */
export type Metrics = ReturnType<typeof createMetrics>;
