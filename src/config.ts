import os from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
/** The entries of a comma-separated setting, spaces around them ignored; empty gives []. */
export const splitList = (csv: string): string[] => csv.split(',').map((e) => e.trim()).filter((e) => e.length > 0);
const list = (entry: RegExp, what: string) =>
  z
    .string()
    .transform(splitList)
    .refine((es) => es.every((e) => entry.test(e)), what);

/**
 * Every setting: its environment variable, the CLI flag derived from it (`MAX_BATCH_SIZE` →
 * `--max-batch-size`), the accepted values and the default. One table so `--help`, the parser
 * and the README cannot drift apart.
 */
const SETTINGS = {
  MODEL_DIR: { schema: z.string().min(1), default: 'models/default', help: 'model folder (HF/optimum ONNX layout)' },
  HOST: { schema: z.string().min(1), default: '127.0.0.1', help: 'bind address (0.0.0.0 in containers)' },
  PORT: { schema: int(0, 65535), default: '8080', help: 'TCP port' },
  LOG_LEVEL: {
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
    help: 'pino log level',
  },
  MAX_BATCH_SIZE: { schema: int(1, 4096), default: '64', help: 'items per inference batch' },
  // On CPU a batch costs about its computed tokens whatever its size (measured: 4 × 512 tokens
  // runs as fast per token as 64 × 512), so a small budget that groups tightly by length wins.
  MAX_BATCH_TOKENS: { schema: int(1, 1_048_576), default: '2048', help: 'batch size × longest item, per batch' },
  // On CPU an item costs its computed tokens whatever the batch size, so a batch of like lengths
  // beats a padded one; on GPU a bigger batch amortizes the launch cost, so its overlay sets 0.
  MIN_PADDING_EFFICIENCY: {
    schema: z.coerce.number().min(0).max(1),
    default: '0.97',
    help: 'least real/computed tokens of a batch cut from a queue too short to fill one (or of the best full batch); items that would pad it more wait for their own batch (0 = off)',
  },
  MAX_WAIT_MS: { schema: int(0, 10_000), default: '2', help: 'how long a partial batch waits for more items while another batch runs (none when all workers are idle)' },
  QUEUE_DEADLINE_MS: {
    schema: int(1, 600_000),
    default: '2000',
    help: 'an item queued this long goes in the next batch, ahead of better-packed ones',
  },
  // RL trainers hold hundreds of requests in flight and wait for all of them (verl allows 1,024),
  // so the queue is bounded by what it holds, not by a guess of time: at a few items/s any time
  // bound refuses normal load, and a refused trainer retries at once.
  MAX_QUEUE_ITEMS: { schema: int(1, 1_000_000), default: '4096', help: 'items admitted and not yet inferred; a request past it waits ADMISSION_HOLD_MS for room, then gets 429' },
  MAX_QUEUE_TOKENS: {
    schema: int(1, 1_000_000_000),
    default: '4194304',
    help: 'tokens the queued items may hold (their ids in memory); past it new requests wait ADMISSION_HOLD_MS for room, then get 429 (requests already tokenizing still join)',
  },
  ADMISSION_HOLD_MS: {
    schema: int(0, 60_000),
    default: '1000',
    help: 'how long a request that finds the queue full waits for room, in arrival order, before its 429 (a client retrying at once then costs one refusal per hold); 0 = refuse at once',
  },
  MAX_QUEUE_WAIT_MS: {
    schema: int(0, 3_600_000),
    default: '0',
    help: 'a request that would wait longer than this behind admitted work (at the measured drain rate) gets 429 with Retry-After; 0 = no bound (clients wait; a timeout_ms that cannot be met is refused at once)',
  },
  // Small models: two sessions of one thread beat one of two threads on 2 cores (bench/RESULTS.md).
  // Each session holds its own copy of the weights, so a large model gets one session.
  INFER_WORKERS: {
    schema: z.union([z.literal('auto'), int(1, 64)]),
    default: 'auto',
    help: 'inference worker threads, one ORT session (and one copy of the weights) each; auto = 1 for a model over LARGE_MODEL_MB or on CUDA, else min(2, cores)',
  },
  INTRA_OP_THREADS: { schema: int(0, 256), default: '0', help: 'ONNX Runtime intra-op threads per worker; 0 = cores ÷ workers' },
  LARGE_MODEL_MB: { schema: int(1, 1_048_576), default: '256', help: 'weights (model.onnx and its external data) from which a model counts as large for INFER_WORKERS and CPU_MEM_ARENA auto' },
  CPU_MEM_ARENA: {
    schema: z.enum(['auto', 'on', 'off']),
    default: 'auto',
    help: "ONNX Runtime's CPU memory arena and memory patterns; auto = off for a large model (an arena keeps its peak for good), on otherwise",
  },
  // With one session on every core, the event loop and the tokenizers share those cores: a pool
  // that spins waits on whichever of its threads was preempted, so each op stalls for a time slice.
  INTRA_OP_SPINNING: {
    schema: z.enum(['auto', 'on', 'off']),
    default: 'auto',
    help: "ONNX Runtime's intra-op threads spin while waiting for work; auto = off for a model over LARGE_MODEL_MB (one session on every core), on otherwise",
  },
  // 'basic' (constant folding, redundant-node removal) measured 25% faster than 'extended'/'all'
  // on CPU for the default model: L' 1836-1960 vs 1385-1529 items/s in the same interleaved runs
  // (bench/RESULTS.md, ORT settings); the extended fusions cost more than they save at d 128.
  // On GPU the overlay and Dockerfile.cuda set 'all', the level measured there.
  GRAPH_OPTIMIZATION: {
    schema: z.enum(['disabled', 'basic', 'extended', 'all']),
    default: 'basic',
    help: 'ONNX Runtime graph optimization level (npm run bench compares them)',
  },
  // Requests are sliced and take turns on the tokenizer threads; a second thread keeps one-item
  // traffic moving beside a huge request, where cores allow it.
  TOKENIZER_WORKERS: {
    schema: int(1, 64),
    default: String(Math.max(1, Math.min(4, Math.floor(os.availableParallelism() / 2)))),
    help: 'tokenization worker threads (default cores ÷ 2, 1 to 4)',
  },
  // One-item requests gathered into one worker message cost less per item than one message each;
  // they only wait while inference has more queued than the wait, so no throughput is lost.
  TOKENIZE_GATHER_MS: {
    schema: int(0, 1000),
    default: '20',
    help: 'while inference has more than this much work queued, small requests wait up to this long to share a tokenizer worker message (0 = off)',
  },
  // The card's library stays the default; 'rust' is faster (bench/RESULTS.md section 2), so the
  // CPU overlay in k8s/ sets it.
  TOKENIZER_LIBRARY: {
    schema: z.enum(['huggingface', 'rust']),
    default: 'huggingface',
    help: "tokenizer library: @huggingface/tokenizers, or the Rust `tokenizers` binding (same ids, faster)",
  },
  MAX_BODY_BYTES: { schema: int(1024, 1_073_741_824), default: String(16 * 1024 * 1024), help: 'request body limit (413 above)' },
  MAX_ITEMS_PER_REQUEST: { schema: int(1, 100_000), default: '1024', help: 'items or pairs per request (422 above)' },
  // Decoder reward models declare 32k–128k positions; an item that long costs gigabytes of
  // attention memory, so a model's own limit is capped here (its items are truncated beyond).
  MAX_LENGTH_CAP: { schema: int(8, 1_048_576), default: '8192', help: "cap on a model's max_length in tokens, whatever its files allow" },
  MAX_CHARS_PER_TEXT: { schema: int(1, 10_000_000), default: '65536', help: 'characters per prompt/response/text (422 above)' },
  SHUTDOWN_GRACE_MS: { schema: int(0, 3_600_000), default: '30000', help: 'time to finish accepted work after SIGTERM' },
  WARMUP: { schema: bool, default: 'true', help: 'run one warm-up batch before reporting ready' },
  EXECUTION_PROVIDER: {
    schema: z.enum(['cpu', 'cuda']),
    default: 'cpu',
    help: 'ONNX Runtime execution provider (cuda needs `npm run install:cuda13` or `install:cuda12`)',
  },
  DEVICE_ID: { schema: int(0, 255), default: '0', help: 'CUDA device index (after CUDA_VISIBLE_DEVICES)' },
  ALLOW_CPU_FALLBACK: { schema: bool, default: 'false', help: 'with cuda: serve on CPU with a warning when CUDA cannot start' },
  // Several models: each gets its own tokenizer and inference workers and its own batcher.
  MODELS: { schema: list(/^[^,]+$/, 'comma-separated model folders'), default: '', help: 'model folders to serve (comma-separated); empty = MODEL_DIR alone' },
  ENSEMBLES: {
    schema: list(/^[^=+,\s]+=[^=+,\s]+(\+[^=+,\s]+)+$/, 'comma-separated name=model+model[+…]'),
    default: '',
    help: 'named ensembles of served models, e.g. safe=rm-a+rm-b (comma-separated)',
  },
  ENSEMBLE_K: { schema: z.coerce.number().min(0).max(100), default: '1', help: "k of an ensemble's conservative reward mean − k·std" },
  DEFAULT_MODEL: { schema: z.string().max(128), default: '', help: 'model or ensemble answering requests that name none; empty = the first model' },
  // Faults, load and security.
  MAX_TIMEOUT_MS: { schema: int(1, 3_600_000), default: '600000', help: "cap on a request's timeout_ms (larger values are lowered to it)" },
  MAX_EVENT_LOOP_DELAY_MS: {
    schema: int(0, 60_000),
    default: '500',
    help: 'mean event-loop delay over a 1 s sample above which requests get 503 server_busy; 0 = off',
  },
  // Bounds on one body's shape, checked by a scan of the raw text before JSON.parse: parsing
  // and validating a 16 MiB body of 8 M nested arrays or 1 M keys blocked the loop for seconds.
  MAX_JSON_DEPTH: { schema: int(2, 1000), default: '32', help: 'deepest nesting of arrays and objects in a request body (413 json_too_complex above)' },
  MAX_JSON_VALUES: {
    schema: int(16, 100_000_000),
    default: '1048576',
    help: 'array elements plus object members in a request body, all levels together (413 json_too_complex above)',
  },
  // JSON.parse spends 0.5–2.4 µs per distinct key (a new hidden class each), 10–100× a number.
  MAX_JSON_KEYS: {
    schema: int(16, 100_000_000),
    default: '65536',
    help: 'object members (keys) in a request body, all objects together (413 json_too_complex above)',
  },
  // Connection hygiene: a slow or idle client must not hold a socket (and a descriptor) forever.
  REQUEST_TIMEOUT_MS: { schema: int(100, 3_600_000), default: '30000', help: 'time to receive a whole request, headers and body (408 request_timeout, then the socket is closed)' },
  HEADERS_TIMEOUT_MS: { schema: int(100, 3_600_000), default: '10000', help: "time to receive a request's headers (408; at most REQUEST_TIMEOUT_MS)" },
  KEEP_ALIVE_TIMEOUT_MS: { schema: int(100, 3_600_000), default: '5000', help: 'how long an idle keep-alive socket stays open' },
  // RL trainers keep hundreds to a thousand keep-alive connections open (verl allows 1,024
  // requests in flight), plus probes and scrapers.
  MAX_CONNECTIONS: { schema: int(1, 1_000_000), default: '4096', help: 'open client connections; a connection past it is closed at once, before any byte is read' },
  // Kubernetes Services balance per connection, and RL clients keep theirs for hours: without an
  // end, a replica added by the autoscaler would get no traffic from clients already connected.
  MAX_CONNECTION_AGE_MS: {
    schema: int(0, 86_400_000),
    default: '30000',
    help: 'a keep-alive connection older than this (±10% per connection) is closed after its current response (Connection: close), so clients reconnect and reach new replicas; 0 = never',
  },
  API_KEYS: { schema: z.string(), default: '', help: 'comma-separated bearer keys; with none here or in API_KEYS_FILE, no key is asked' },
  API_KEYS_FILE: { schema: z.string(), default: '', help: 'file with one bearer key per line (# comments)' },
  AUTH_HEALTH: { schema: bool, default: 'false', help: 'also require a key for /health/*' },
  AUTH_METRICS: { schema: bool, default: 'false', help: 'also require a key for /metrics' },
  CORS_ORIGINS: { schema: z.string(), default: '', help: 'comma-separated origins allowed by CORS; empty = CORS off' },
  // The over-optimization watch (src/watch/): reward drift, length coupling, ensemble disagreement.
  WATCH: { schema: bool, default: 'true', help: 'watch rewards per model for over-optimization (reward_watch_* metrics, GET /v1/stats)' },
  WATCH_WINDOW: { schema: int(10, 1_000_000), default: '1000', help: 'items per model in the sliding window of the watch' },
  WATCH_BUCKETS: {
    schema: list(/^-?\d+(\.\d+)?$/, 'comma-separated numbers in ascending order')
      .transform((es) => es.map(Number))
      .refine((ks) => ks.length > 0 && ks.every((k, i) => i === 0 || k > ks[i - 1]!), 'comma-separated numbers in ascending order'),
    default: '-5,-4,-3,-2,-1.5,-1,-0.5,0,0.5,1,1.5,2,3,4,5',
    help: "reward histogram buckets, in training std from the model's training mean (reward.json normalization)",
  },
} as const;

type Settings = typeof SETTINGS;
type SettingName = keyof Settings;

/** Environment variable names of every setting. */
export const SETTING_NAMES = Object.freeze(Object.keys(SETTINGS));

/** `MAX_BATCH_SIZE` → `maxBatchSize`, at the type level. */
type Camel<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Lowercase<Head>}${Capitalize<Camel<Tail>>}` : Lowercase<S>;

/** Each setting's parsed value under its camelCase name, derived from the table. */
type ParsedSettings = { readonly [K in SettingName as Camel<K>]: z.output<Settings[K]['schema']> };

/**
 * The parsed, frozen configuration: every setting of the table, plus the two list settings in
 * their resolved form.
 */
export type Config = Omit<ParsedSettings, 'models' | 'ensembles'> & {
  /** Model folders to serve; `[MODEL_DIR]` unless MODELS lists some. */
  readonly models: readonly string[];
  readonly ensembles: readonly EnsembleSpec[];
};

/** A named group of served models (ENSEMBLES). */
export interface EnsembleSpec {
  readonly name: string;
  readonly members: readonly string[];
}

/** Thrown for an invalid setting or flag; its message names the setting and what is accepted. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const camel = (name: string) => name.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const flag = (name: string) => name.toLowerCase().replace(/_/g, '-');

function describe(schema: z.ZodType): string {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  if (Array.isArray(json.enum)) return `one of ${json.enum.join(', ')}`;
  if (json.type === 'number') return `a number from ${String(json.minimum)} to ${String(json.maximum)}`;
  if (typeof json.minimum === 'number' && typeof json.maximum === 'number') {
    return `an integer from ${json.minimum} to ${json.maximum}`;
  }
  if (json.type === 'string' && json.minLength === undefined) return 'a string';
  return 'a non-empty string';
}

/** The `--help` text: every flag, its variable, default and accepted range. */
export function helpText(): string {
  const lines = ['Usage: node dist/src/server.js [--flag value ...]', '', 'Every flag can also be set by its environment variable.', ''];
  for (const [name, s] of Object.entries(SETTINGS)) {
    lines.push(`  --${flag(name)} (${name})  ${s.help}; ${describe(s.schema)}; default ${s.default}`);
  }
  return lines.join('\n');
}

/**
 * Parse settings once: defaults, then environment, then CLI flags. Returns a frozen object.
 * @throws ConfigError naming the first invalid setting and its accepted values.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, argv: string[] = []): Config {
  const options = Object.fromEntries(Object.keys(SETTINGS).map((n) => [flag(n), { type: 'string' as const }]));
  let flags: Record<string, string | undefined>;
  try {
    flags = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Record<string, string | undefined>;
  } catch (err) {
    throw new ConfigError(`${(err as Error).message} (see --help)`);
  }
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const s = SETTINGS[name];
    const raw = flags[flag(name)] ?? env[name] ?? s.default;
    const parsed = (s.schema as z.ZodType).safeParse(raw);
    if (!parsed.success) {
      // A refinement (the list formats) says what it expects itself.
      const issue = parsed.error.issues[0];
      const expected = issue?.code === 'custom' ? issue.message : describe(s.schema);
      throw new ConfigError(`invalid ${name} (--${flag(name)}) = ${JSON.stringify(raw)}: expected ${expected}`);
    }
    out[camel(name)] = parsed.data;
  }
  if ((out.models as string[]).length === 0) out.models = [out.modelDir];
  Object.freeze(out.models);
  out.ensembles = Object.freeze(
    (out.ensembles as string[]).map((e) => {
      const [name, members] = e.split('=') as [string, string];
      return Object.freeze({ name, members: Object.freeze(members.split('+')) });
    }),
  );
  const config = out as unknown as Config;
  // A request larger than the whole queue could never be admitted: it would get 429 forever.
  // /compare queues up to two items per pair.
  if (2 * config.maxItemsPerRequest > config.maxQueueItems) {
    throw new ConfigError(
      `invalid MAX_ITEMS_PER_REQUEST (--max-items-per-request) = ${config.maxItemsPerRequest}: expected at most half of MAX_QUEUE_ITEMS (${config.maxQueueItems}), since a /compare pair queues two items`,
    );
  }
  // Node refuses to start a server whose header timeout exceeds its request timeout.
  if (config.headersTimeoutMs > config.requestTimeoutMs) {
    throw new ConfigError(
      `invalid HEADERS_TIMEOUT_MS (--headers-timeout-ms) = ${config.headersTimeoutMs}: expected at most REQUEST_TIMEOUT_MS (${config.requestTimeoutMs})`,
    );
  }
  return Object.freeze(config);
}
