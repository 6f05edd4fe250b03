import client from 'prom-client';
import type { PrefixStats } from './infer/backend.js';
import type { BucketCounts, RewardWatch } from './watch/reward-watch.js';

/** Prefix of every metric the service exports. */
export const METRIC_PREFIX = 'reward_';

/**
 * The `model` label of a request that resolved no model (an unknown name, a bad body, a GET):
 * one fixed value, so names sent by clients never create series.
 */
export const NO_MODEL = 'none';

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
  const watches: RewardWatch[] = [];
  const tokenCaches: { model: string; read: () => { hit: number; miss: number } }[] = [];
  // The watch's figures, read from each model's watch at scrape time.
  const watchGauge = (name: string, help: string, read: (w: RewardWatch) => number | null) =>
    new client.Gauge({
      name: `${METRIC_PREFIX}watch_${name}`,
      help,
      labelNames: ['model'] as const,
      registers,
      collect() {
        this.reset();
        for (const w of watches) {
          const v = read(w);
          if (v !== null) this.set({ model: w.model }, v);
        }
      },
    });
  const watchHistogram = (name: string, help: string, read: (w: RewardWatch) => BucketCounts | null) =>
    registry.registerMetric(bucketsMetric(`${METRIC_PREFIX}watch_${name}`, help, () => watches.flatMap((w) => (read(w) ? [[w.model, read(w)!] as const] : []))));
  watchHistogram('reward', "Raw rewards per model, in buckets at the model's training mean + k·std (k from WATCH_BUCKETS; reward.json normalization)", (w) => w.raw);
  watchHistogram('normalized_reward', 'Normalized rewards (r − mean) / std per model, in buckets at WATCH_BUCKETS', (w) => w.normalized);
  watchHistogram('ensemble_std', "Ensembles: the members' standard deviation per item (disagreement)", (w) => w.disagreement);
  watchGauge('window_items', 'Items in the sliding window of the watch (at most WATCH_WINDOW)', (w) => w.count);
  watchGauge('window_mean', 'Mean raw reward over the sliding window', (w) => w.mean());
  watchGauge('window_std', 'Standard deviation of raw rewards over the sliding window', (w) => w.std());
  watchGauge('training_mean', 'Mean raw reward on the training data (reward.json normalization)', (w) => w.training?.mean ?? null);
  watchGauge('training_std', 'Standard deviation of the raw reward on the training data (reward.json normalization)', (w) => w.training?.std ?? null);
  watchGauge('drift_std', '(window mean − training mean) / training std', (w) => w.driftStd());
  watchGauge('beyond_3std_ratio', 'Share of the window beyond ±3 training std of the training mean (0.0027 for normal rewards)', (w) => w.beyondShare());
  watchGauge('length_pearson', "Pearson correlation of reward and the item's length in tokens over the window", (w) => w.lengthPearson());
  watchGauge('length_spearman', "Spearman rank correlation of reward and the item's length in tokens over the window", (w) => w.lengthSpearman());
  watchGauge('ensemble_std_mean', "Ensembles: mean of the members' std per item over the window", (w) => w.disagreementMean());
  const seconds = (name: string, help: string) =>
    new client.Histogram({ name: `${METRIC_PREFIX}${name}`, help, buckets: secondsBuckets, labelNames: ['model'] as const, registers });
  return {
    registry,
    requestDuration: new client.Histogram({
      name: `${METRIC_PREFIX}http_request_duration_seconds`,
      help: `HTTP request duration by route, method, status and model (the model or ensemble the request resolved to; "${NO_MODEL}" before one is)`,
      labelNames: ['route', 'method', 'status', 'model'] as const,
      buckets: secondsBuckets,
      registers,
    }),
    queueWait: seconds('queue_wait_seconds', 'Time an item waits in the batch queue before its batch starts'),
    tokenizationDuration: seconds('tokenization_duration_seconds', 'Time to tokenize one request, worker round trip included'),
    inferenceDuration: seconds('inference_duration_seconds', 'Time to run one batch through the backend'),
    batchSize: new client.Histogram({
      name: `${METRIC_PREFIX}batch_size`,
      help: 'Items per inference batch',
      labelNames: ['model'] as const,
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers,
    }),
    batchTokens: new client.Histogram({
      name: `${METRIC_PREFIX}batch_tokens`,
      help: 'Tokens computed per batch (batch size × longest item)',
      labelNames: ['model'] as const,
      buckets: [64, 256, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072],
      registers,
    }),
    paddingRatio: new client.Histogram({
      name: `${METRIC_PREFIX}batch_padding_ratio`,
      help: 'Share of computed tokens that are padding, per batch',
      labelNames: ['model'] as const,
      buckets: [0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 0.9],
      registers,
    }),
    tokens: new client.Counter({
      name: `${METRIC_PREFIX}tokens_total`,
      help: 'Tokens through inference: kind="real" are item tokens, kind="computed" include padding',
      labelNames: ['kind', 'model'] as const,
      registers,
    }),
    inferredItems: new client.Counter({
      name: `${METRIC_PREFIX}inferred_items_total`,
      help: 'Items run through the model',
      labelNames: ['model'] as const,
      registers,
    }),
    prefixLookups: new client.Counter({
      name: `${METRIC_PREFIX}prefix_cache_lookups_total`,
      help: 'Prefix reuse: items of at least PREFIX_MIN_TOKENS tokens, by whether a held prefix served them (hit) or not (miss: a new prefix was run, or the item whole)',
      labelNames: ['result', 'model'] as const,
      registers,
    }),
    prefixReusedTokens: new client.Counter({
      name: `${METRIC_PREFIX}prefix_reused_tokens_total`,
      help: 'Prefix reuse: token positions not computed again because a prefix was reused',
      labelNames: ['model'] as const,
      registers,
    }),
    prefixCacheBytes: new client.Gauge({
      name: `${METRIC_PREFIX}prefix_cache_bytes`,
      help: 'Prefix reuse: bytes of keys and values held, all inference workers (each within PREFIX_CACHE_MB)',
      labelNames: ['model'] as const,
      registers,
    }),
    prefixEvictions: new client.Counter({
      name: `${METRIC_PREFIX}prefix_cache_evictions_total`,
      help: 'Prefix reuse: held prefixes evicted to stay within PREFIX_CACHE_MB',
      labelNames: ['model'] as const,
      registers,
    }),
    queueDepth: new client.Gauge({
      name: `${METRIC_PREFIX}queue_depth`,
      help: 'Items accepted and waiting for a batch (tokenizing or queued)',
      labelNames: ['model'] as const,
      registers,
    }),
    failures: new client.Counter({
      name: `${METRIC_PREFIX}failures_total`,
      help: `Error responses by error code (src/errors.ts) and model ("${NO_MODEL}" before one is resolved), counted where the error becomes a response`,
      labelNames: ['reason', 'model'] as const,
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
    /** Exports a model's or ensemble's watch (reward_watch_*{model}). */
    addWatch(watch: RewardWatch): void {
      watches.push(watch);
    },
    tokenCacheLookups: new client.Counter({
      name: `${METRIC_PREFIX}token_cache_lookups_total`,
      help: 'Texts of 256 characters or more (a prompt beside many responses) the tokenizer threads looked up in their token cache, by model: result="hit" reused ids, "miss" were tokenized',
      labelNames: ['model', 'result'] as const,
      registers,
      collect() {
        // Counted in the tokenizer threads (shared memory); read whole at scrape time.
        this.reset();
        for (const c of tokenCaches) {
          const { hit, miss } = c.read();
          this.inc({ model: c.model, result: 'hit' }, hit);
          this.inc({ model: c.model, result: 'miss' }, miss);
        }
      },
    }),
    /** Exports a model's token cache lookups (reward_token_cache_lookups_total{model}). */
    addTokenCache(model: string, read: () => { hit: number; miss: number }): void {
      tokenCaches.push({ model, read });
    },
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
    connectionsRecycled: new client.Counter({
      name: `${METRIC_PREFIX}connections_recycled_total`,
      help: 'Keep-alive connections closed after a response because they were older than MAX_CONNECTION_AGE_MS (clients reconnect, and reach new replicas)',
      registers,
    }),
    droppedItems: new client.Counter({
      name: `${METRIC_PREFIX}dropped_items_total`,
      help: 'Queued items dropped before inference, by reason and model',
      labelNames: ['reason', 'model'] as const,
      registers,
    }),
  };
}

/** The metrics of one service instance. */
export type Metrics = ReturnType<typeof createMetrics>;

/**
 * A histogram family whose series each have their own bucket bounds (Prometheus allows it,
 * prom-client's Histogram does not): each model's reward buckets follow its own training
 * distribution. The counts live in the watch that records them.
 */
function bucketsMetric(name: string, help: string, read: () => (readonly [string, BucketCounts])[]) {
  return {
    name,
    help,
    type: 'histogram' as const,
    aggregator: 'sum' as const,
    reset() {},
    get() {
      const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
      for (const [model, h] of read()) {
        let cumulative = 0;
        h.bounds.forEach((le, i) => {
          cumulative += h.counts[i]!;
          values.push({ labels: { model, le }, value: cumulative, metricName: `${name}_bucket` });
        });
        values.push({ labels: { model, le: '+Inf' }, value: h.count, metricName: `${name}_bucket` });
        values.push({ labels: { model }, value: h.sum, metricName: `${name}_sum` });
        values.push({ labels: { model }, value: h.count, metricName: `${name}_count` });
      }
      return { name, help, type: 'histogram' as const, aggregator: 'sum' as const, values };
    },
  } as unknown as client.Metric;
}

/**
 * One served model's stage metrics, bound to its `model` label once, so the per-item and
 * per-batch observations hash no label set.
 */
export function modelMetrics(m: Metrics, model: string) {
  const l = { model };
  return {
    model,
    queueWait: m.queueWait.labels(l),
    tokenizationDuration: m.tokenizationDuration.labels(l),
    inferenceDuration: m.inferenceDuration.labels(l),
    batchSize: m.batchSize.labels(l),
    batchTokens: m.batchTokens.labels(l),
    paddingRatio: m.paddingRatio.labels(l),
    realTokens: m.tokens.labels({ kind: 'real', model }),
    computedTokens: m.tokens.labels({ kind: 'computed', model }),
    inferredItems: m.inferredItems.labels(l),
    queueDepth: m.queueDepth.labels(l),
    prefix: (st: PrefixStats) => {
      if (st.hits) m.prefixLookups.inc({ result: 'hit', model }, st.hits);
      if (st.misses) m.prefixLookups.inc({ result: 'miss', model }, st.misses);
      if (st.reusedTokens) m.prefixReusedTokens.inc(l, st.reusedTokens);
      if (st.evictions) m.prefixEvictions.inc(l, st.evictions);
      m.prefixCacheBytes.inc(l, st.bytesDelta);
    },
    dropped: (reason: string, n: number) => m.droppedItems.inc({ reason, model }, n),
  };
}

/** The metrics of one served model (see modelMetrics). */
export type ModelMetrics = ReturnType<typeof modelMetrics>;
