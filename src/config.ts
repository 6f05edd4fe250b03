import os from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
/** The entries of a comma-separated setting, spaces around them ignored; empty gives []. */
export const splitList = (csv: string): string[] => csv.split(',').map((e) => e.trim()).filter((e) => e.length > 0);
// The description is what --help and docs/configuration.md say the setting accepts.
const list = (entry: RegExp, what: string) =>
  z
    .string()
    .describe(what)
    .transform(splitList)
    .refine((es) => es.every((e) => entry.test(e)), what);

/** What the table says of one setting. */
interface SettingSpec {
  /** Parses the raw string (environment or flag) into the setting's value. */
  readonly schema: z.ZodType;
  /** The raw string used when neither the environment nor a flag sets it. */
  readonly default: string;
  /**
   * What the setting does, short: `--help` prints it with the Markdown removed, and
   * docs/configuration.md starts its description with it. Markdown; links relative to docs/.
   */
  readonly help: string;
  /** What only docs/configuration.md adds after `help` (reasons, measurements, links). Markdown. */
  readonly more?: string;
  /** The default in words, where the value depends on the machine (the page must not). */
  readonly defaultText?: string;
}

/**
 * Every setting: its environment variable, the CLI flag derived from it (`MAX_BATCH_SIZE` →
 * `--max-batch-size`), the accepted values, the default and what it does. One table so `--help`,
 * the parser and docs/configuration.md (`npm run docs:config`) cannot drift apart.
 */
const SETTINGS = {
  MODEL_DIR: {
    schema: z.string().min(1),
    default: 'models/default',
    help: 'model folder (HF/optimum ONNX layout); the one served unless `MODELS` lists several',
    more: 'its files and fields: [models/README.md](../models/README.md)',
  },
  HOST: {
    schema: z.string().min(1),
    default: '127.0.0.1',
    help: 'bind address; loopback unless set: the container images set `0.0.0.0`',
    more: 'see [Deployment](deployment.md)',
  },
  PORT: { schema: int(0, 65535), default: '8080', help: 'TCP port' },
  LOG_LEVEL: {
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
    help: 'pino log level',
  },
  MAX_BATCH_SIZE: { schema: int(1, 4096), default: '64', help: 'items per inference batch' },
  // On CPU a batch costs about its computed tokens whatever its size (measured: 4 × 512 tokens
  // runs as fast per token as 64 × 512), so a small budget that groups tightly by length wins.
  // A wide model's batch of 2048 tokens makes activations above glibc's mmap threshold, mapped
  // and faulted in afresh on every run: `auto` keeps them under it.
  MAX_BATCH_TOKENS: {
    schema: z.union([z.literal('auto'), int(1, 1_048_576)]),
    default: 'auto',
    help: "batch size × longest item, per batch; `auto` = 2048, or on CPU fewer for a wide model: as many as keep a batch's widest activation (config.json `hidden_size`/`intermediate_size` × 4 bytes per token) under 8 MiB",
    more: "at or above glibc's mmap threshold (the server starts with 8 MiB) each activation is mapped on its own and page-faulted in again on every run; a 0.6B model (`intermediate_size` 3072) gets 682",
  },
  MIN_PADDING_EFFICIENCY: {
    schema: z.coerce.number().min(0).max(1),
    default: '0.97',
    help: 'least real / computed tokens of a batch cut from a queue too short to fill one, or of the best full batch: items that would pad it more wait for a batch of their own length; 0 = off',
    more: "on CPU a batch costs its computed tokens whatever its size, so small batches of like lengths win (one-item traffic gains most); the GPU overlay and `Dockerfile.cuda` set 0, as bigger batches amortize a GPU's launch cost",
  },
  MAX_WAIT_MS: {
    schema: int(0, 10_000),
    default: '2',
    help: 'how long a partial batch waits for more items while another batch runs; with every worker idle it starts at once',
  },
  QUEUE_DEADLINE_MS: {
    schema: int(1, 600_000),
    default: '2000',
    help: 'an item queued this long goes in the next batch, ahead of better-packed ones',
  },
  // RL trainers hold hundreds of requests in flight and wait for all of them (verl allows 1,024),
  // so the queue is bounded by what it holds, not by a guess of time: at a few items/s any time
  // bound refuses normal load, and a refused trainer retries at once.
  MAX_QUEUE_ITEMS: {
    schema: int(1, 1_000_000),
    default: '4096',
    help: 'items admitted and not yet inferred; a request past it waits `ADMISSION_HOLD_MS` for room, then gets 429',
  },
  MAX_QUEUE_TOKENS: {
    schema: int(1, 1_000_000_000),
    default: '4194304',
    help: 'tokens the queued items may hold (their ids in memory); past it new requests wait `ADMISSION_HOLD_MS` for room, then get 429 (requests already tokenizing still join)',
  },
  ADMISSION_HOLD_MS: {
    schema: int(0, 60_000),
    default: '1000',
    help: 'how long a request that finds the queue full waits for room, in arrival order, before its 429 `overloaded` (`Retry-After: 1`); 0 = refuse at once',
    more: 'a client that retries at once then costs one refusal per hold',
  },
  ADMISSION_REFUSALS_PER_S: {
    schema: int(0, 10_000),
    default: '20',
    help: 'queue-full refusals per second the holds aim at: behind others already waiting, a request waits as many seconds as they are ÷ this (at least `ADMISSION_HOLD_MS`, at most 60 s), so clients that retry at once cost about this many refusals per second however many they are; 0 = `ADMISSION_HOLD_MS` alone',
    more: 'each refusal is one more request for the event loop, and clients that retry at once send one per hold each',
  },
  MAX_QUEUE_WAIT_MS: {
    schema: int(0, 3_600_000),
    default: '0',
    help: 'a request that would wait longer than this behind the work already admitted (at the measured drain rate) gets 429 with `Retry-After`; 0 = no time bound',
    more: 'the rate is how fast inference has been draining the queue while busy; with 0, clients wait in the queue, and only a request whose own `timeout_ms` cannot be met is refused at once',
  },
  // Small models: two sessions of one thread beat one of two threads on 2 cores (bench/RESULTS.md).
  // Each session holds its own copy of the weights, so a large model gets one session.
  INFER_WORKERS: {
    schema: z.union([z.literal('auto'), int(1, 64)]),
    default: 'auto',
    help: 'inference worker threads, one ORT session (and one copy of the weights) each; `auto` = 1 for a model of at least `LARGE_MODEL_MB` or on CUDA, else min(2, cores)',
  },
  INTRA_OP_THREADS: { schema: int(0, 256), default: '0', help: 'ONNX Runtime intra-op threads per worker; 0 = cores ÷ workers' },
  LARGE_MODEL_MB: {
    schema: int(1, 1_048_576),
    default: '256',
    help: 'weights (`model.onnx` and its external data) from which a model counts as large for `INFER_WORKERS`, `CPU_MEM_ARENA` and `INTRA_OP_SPINNING` `auto`',
  },
  CPU_MEM_ARENA: {
    schema: z.enum(['auto', 'on', 'off']),
    default: 'auto',
    help: "ONNX Runtime's CPU memory arena and memory patterns; `auto` = off for a large model (an arena keeps its peak for good), on otherwise",
  },
  // With one session on every core, the event loop and the tokenizers share those cores: a pool
  // that spins waits on whichever of its threads was preempted, so each op stalls for a time slice.
  INTRA_OP_SPINNING: {
    schema: z.enum(['auto', 'on', 'off']),
    default: 'auto',
    help: "ONNX Runtime's intra-op threads spin while waiting for work; `auto` = off for a large model (one session on every core), on otherwise",
    more: 'that session shares the cores with the event loop and the tokenizers: a spinning pool waits on whichever of its threads was preempted',
  },
  // 'basic' (constant folding, redundant-node removal) measured 25% faster than 'extended'/'all'
  // on CPU for the default model: L' 1836-1960 vs 1385-1529 items/s in the same interleaved runs
  // (bench/RESULTS.md, ORT settings); the extended fusions cost more than they save at d 128.
  // On GPU the overlay and Dockerfile.cuda set 'all', the level measured there.
  GRAPH_OPTIMIZATION: {
    schema: z.enum(['disabled', 'basic', 'extended', 'all']),
    default: 'basic',
    help: 'ONNX Runtime graph optimization level (`npm run bench` compares them)',
    more: '`basic` measured 25% faster than `all` on CPU for the default model ([Performance](performance.md), ORT settings); the GPU overlay and `Dockerfile.cuda` set `all`, the level measured on the H100',
  },
  PREFIX_REUSE: {
    schema: z.enum(['auto', 'off']),
    default: 'auto',
    help: 'score a shared prompt once: `auto` = on for a model folder with prefix graphs (`model:import --prefix-graphs`) whose reward is one value per item; `off` for A/B runs',
    more: 'rows of a batch that share at least `PREFIX_MIN_TOKENS` leading token ids run those ids once and continue from their keys and values, which each inference worker keeps (`PREFIX_CACHE_MB`) for later requests of the same group ([How it works](how-it-works.md#prefix-reuse))',
  },
  PREFIX_MIN_TOKENS: { schema: int(1, 1_048_576), default: '128', help: 'shortest shared prefix of token ids that `PREFIX_REUSE` runs once' },
  PREFIX_CACHE_MB: {
    schema: int(0, 1_048_576),
    default: '512',
    help: 'keys and values of recent prefixes each inference worker keeps (least recently used evicted); 0 = reuse within a batch only',
  },
  // Requests are sliced and take turns on the tokenizer threads; a second thread keeps one-item
  // traffic moving beside a huge request, where cores allow it.
  TOKENIZER_WORKERS: {
    schema: int(1, 64),
    default: String(Math.max(1, Math.min(4, Math.floor(os.availableParallelism() / 2)))),
    defaultText: 'cores ÷ 2, 1 to 4',
    help: 'tokenization worker threads',
    more: 'requests are cut into slices (64 items or 32K characters) that take turns on them, so a huge request cannot hold one for long, and one-item requests travel together in one worker message',
  },
  // One-item requests gathered into one worker message cost less per item than one message each;
  // they only wait while inference has more queued than the wait, so no throughput is lost.
  TOKENIZE_GATHER_MS: {
    schema: int(0, 1000),
    default: '20',
    help: 'while the items queued for inference would take longer than this (at the measured drain rate), requests waiting for a tokenizer worker wait up to this long for others to share its message; 0 = off',
    more: 'the message goes at once with 32 items; a worker message of many one-item requests costs the worker and the event loop less per item than one each, and the wait costs nothing while inference is behind anyway',
  },
  // The card's library stays the default; 'rust' is faster (bench/RESULTS.md section 2), so the
  // CPU overlay in k8s/ sets it.
  TOKENIZER_LIBRARY: {
    schema: z.enum(['huggingface', 'rust']),
    default: 'huggingface',
    help: "tokenizer library: `huggingface` (@huggingface/tokenizers, the model card's library) or `rust` (the Rust `tokenizers` binding: the same ids, faster)",
    more: 'tested on every HH dialogue; ×1.37–1.42 the `/score` throughput on 2 CPU cores; the k8s CPU overlay sets `rust` (see [Performance](performance.md))',
  },
  MAX_BODY_BYTES: { schema: int(1024, 1_073_741_824), default: String(16 * 1024 * 1024), help: 'request body limit (413 above)' },
  MAX_ITEMS_PER_REQUEST: {
    schema: int(1, 100_000),
    default: '1024',
    help: 'items or pairs per request (422 above); at most half of `MAX_QUEUE_ITEMS`',
  },
  // Decoder reward models declare 32k–128k positions; an item that long costs gigabytes of
  // attention memory, so a model's own limit is capped here (its items are truncated beyond).
  MAX_LENGTH_CAP: {
    schema: int(8, 1_048_576),
    default: '8192',
    help: "cap on a model's `max_length` in tokens, whatever its files allow",
    more: 'decoder models declare 32k–128k positions; items longer than the cap are truncated as usual',
  },
  MAX_CHARS_PER_TEXT: { schema: int(1, 10_000_000), default: '65536', help: 'characters per prompt, response or text (422 above)' },
  SHUTDOWN_GRACE_MS: { schema: int(0, 3_600_000), default: '30000', help: 'time to finish accepted work after SIGTERM' },
  WARMUP: { schema: bool, default: 'true', help: 'run one warm-up batch before reporting ready' },
  EXECUTION_PROVIDER: {
    schema: z.enum(['cpu', 'cuda']),
    default: 'cpu',
    help: 'ONNX Runtime execution provider (`cuda` needs `npm run install:cuda13` or `install:cuda12`)',
    more: 'see [GPU](deployment.md#gpu)',
  },
  DEVICE_ID: { schema: int(0, 255), default: '0', help: 'CUDA device index (after `CUDA_VISIBLE_DEVICES`)' },
  ALLOW_CPU_FALLBACK: {
    schema: bool,
    default: 'false',
    help: 'with `cuda`: serve on CPU with a loud warning when CUDA cannot start, instead of exiting',
  },
  // Several models: each gets its own tokenizer and inference workers and its own batcher.
  MODELS: {
    schema: list(/^[^,]+$/, 'comma-separated model folders'),
    default: '',
    help: 'model folders to serve; empty = `MODEL_DIR` alone',
    more: "each model is named by its `reward.json` `name`, else by its folder",
  },
  ENSEMBLES: {
    schema: list(/^[^=+,\s]+=[^=+,\s]+(\+[^=+,\s]+)+$/, 'comma-separated name=model+model[+…]'),
    default: '',
    help: 'named ensembles of served models, e.g. `duo=rm-a+rm-b`',
  },
  ENSEMBLE_K: { schema: z.coerce.number().min(0).max(100), default: '1', help: "k of an ensemble's conservative reward `mean − k·std`" },
  DEFAULT_MODEL: { schema: z.string().max(128), default: '', help: 'model or ensemble answering requests that name none; empty = the first model' },
  // Faults, load and security.
  MAX_TIMEOUT_MS: { schema: int(1, 3_600_000), default: '600000', help: "cap on a request's `timeout_ms` (larger values are lowered to it)" },
  MAX_EVENT_LOOP_DELAY_MS: {
    schema: int(0, 60_000),
    default: '500',
    help: 'mean event-loop delay over a 1 s sample above which requests get 503 `server_busy`; 0 = off',
  },
  // Bounds on one body's shape, checked by a scan of the raw text before JSON.parse: parsing
  // and validating a 16 MiB body of 8 M nested arrays or 1 M keys blocked the loop for seconds.
  MAX_JSON_DEPTH: {
    schema: int(2, 1000),
    default: '32',
    help: 'deepest nesting of arrays and objects in a request body; deeper gives 413 `json_too_complex` before the body is parsed',
  },
  MAX_JSON_VALUES: {
    schema: int(16, 100_000_000),
    default: '1048576',
    help: 'array elements plus object members in a request body, all levels together (413 `json_too_complex` above)',
    more: '1024 × 512 token ids fit',
  },
  // JSON.parse spends 0.5–2.4 µs per distinct key (a new hidden class each), 10–100× a number.
  MAX_JSON_KEYS: {
    schema: int(16, 100_000_000),
    default: '65536',
    help: 'object members (keys) in a request body, all objects together (413 `json_too_complex` above)',
    more: 'each distinct key costs `JSON.parse` 0.5–2.4 µs, so 1 M keys blocked the event loop for 0.7–2.4 s; raise it for batches of long conversations',
  },
  // Connection hygiene: a slow or idle client must not hold a socket (and a descriptor) forever.
  REQUEST_TIMEOUT_MS: {
    schema: int(100, 3_600_000),
    default: '30000',
    help: 'time to receive a whole request, headers and body; past it the client gets 408 `request_timeout` and the socket is closed',
  },
  HEADERS_TIMEOUT_MS: {
    schema: int(100, 3_600_000),
    default: '10000',
    help: "time to receive a request's headers (408 `request_timeout`); at most `REQUEST_TIMEOUT_MS`",
    more: "also the time a new connection has to send its first request, else it is closed (Node's own timer starts only at the first byte)",
  },
  KEEP_ALIVE_TIMEOUT_MS: {
    schema: int(100, 3_600_000),
    default: '5000',
    help: 'how long an idle keep-alive socket stays open',
    more: "keep it above a proxy's idle timeout if one pools connections to this server",
  },
  // RL trainers keep hundreds to a thousand keep-alive connections open (verl allows 1,024
  // requests in flight), plus probes and scrapers.
  MAX_CONNECTIONS: {
    schema: int(1, 1_000_000),
    default: '4096',
    help: 'open client connections; a connection past it is closed at once, before any byte is read; keep it below the descriptor limit (`ulimit -n`)',
    more: 'counted in `reward_connections_refused_total{reason="max_connections"}`',
  },
  // Kubernetes Services balance per connection, and RL clients keep theirs for hours: without an
  // end, a replica added by the autoscaler would get no traffic from clients already connected.
  MAX_CONNECTION_AGE_MS: {
    schema: int(0, 86_400_000),
    default: '30000',
    help: 'a keep-alive connection older than this (±10% per connection) gets `Connection: close` on its next response, so clients reconnect and reach replicas added since; 0 = never',
  },
  API_KEYS: { schema: z.string(), default: '', help: 'comma-separated bearer keys; with none here or in `API_KEYS_FILE`, no key is asked' },
  API_KEYS_FILE: {
    schema: z.string(),
    default: '',
    help: 'file with one bearer key per line (`#` comments), e.g. a mounted secret',
  },
  AUTH_HEALTH: { schema: bool, default: 'false', help: 'also require a key for `/health/*`' },
  AUTH_METRICS: { schema: bool, default: 'false', help: 'also require a key for `/metrics`' },
  CORS_ORIGINS: { schema: z.string(), default: '', help: 'comma-separated origins allowed by CORS (e.g. a dashboard); empty = CORS off' },
  // The over-optimization watch (src/watch/): reward drift, length coupling, ensemble disagreement.
  WATCH: {
    schema: bool,
    default: 'true',
    help: 'watch rewards per model for over-optimization (`reward_watch_*` metrics, `GET /v1/stats`); `false` records nothing',
    more: 'see [Watching for reward over-optimization](operations.md#watching-for-reward-over-optimization)',
  },
  WATCH_WINDOW: { schema: int(10, 1_000_000), default: '1000', help: 'items per model (and ensemble) in the sliding window of the watch' },
  WATCH_BUCKETS: {
    schema: list(/^-?\d+(\.\d+)?$/, 'comma-separated numbers in ascending order')
      .transform((es) => es.map(Number))
      .refine((ks) => ks.length > 0 && ks.every((k, i) => i === 0 || k > ks[i - 1]!), 'comma-separated numbers in ascending order'),
    default: '-5,-4,-3,-2,-1.5,-1,-0.5,0,0.5,1,1.5,2,3,4,5',
    help: 'bucket bounds of the reward histograms, in training std from the training mean',
    more: "each model's raw-reward buckets are `mean + k·std` of its `reward.json` `normalization`",
  },
} as const satisfies Record<string, SettingSpec>;

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
  return describeJson(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>);
}

function describeJson(json: Record<string, unknown>): string {
  if (typeof json.description === 'string') return json.description;
  if (Array.isArray(json.anyOf)) return (json.anyOf as Record<string, unknown>[]).map(describeJson).join(' or ');
  if (json.const !== undefined) return String(json.const);
  if (Array.isArray(json.enum)) return `one of ${json.enum.join(', ')}`;
  if (json.type === 'number') return `a number from ${String(json.minimum)} to ${String(json.maximum)}`;
  if (typeof json.minimum === 'number' && typeof json.maximum === 'number') {
    return `an integer from ${json.minimum} to ${json.maximum}`;
  }
  if (json.type === 'string' && json.minLength === undefined) return 'a string';
  return 'a non-empty string';
}

/** Markdown as plain text for a terminal: a link becomes its text, code loses its backticks. */
const plain = (md: string) => md.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/`/g, '');

/** One setting as `--help` and docs/configuration.md present it. */
export interface SettingDoc {
  /** The environment variable, e.g. `MAX_BATCH_SIZE`. */
  readonly name: string;
  /** The flag, e.g. `--max-batch-size`. */
  readonly flag: string;
  /** The default as a string (this machine's, for a default that depends on it). */
  readonly default: string;
  /** The default in words where it depends on the machine, else undefined. */
  readonly defaultText: string | undefined;
  /** What the parser accepts, e.g. `an integer from 1 to 4096`. */
  readonly accepts: string;
  /** The short description (Markdown). */
  readonly help: string;
  /** What the page adds after it (Markdown), else undefined. */
  readonly more: string | undefined;
}

/** Every setting, in the table's order, as its documentation needs it. */
export function settingDocs(): SettingDoc[] {
  return Object.entries(SETTINGS).map(([name, s]: [string, SettingSpec]) => ({
    name,
    flag: `--${flag(name)}`,
    default: s.default,
    defaultText: s.defaultText,
    accepts: describe(s.schema),
    help: s.help,
    more: s.more,
  }));
}

/** The `--help` text: every flag, its variable, default and accepted range. */
export function helpText(): string {
  const lines = ['Usage: node dist/src/server.js [--flag value ...]', '', 'Every flag can also be set by its environment variable.', ''];
  for (const s of settingDocs()) {
    const dflt = s.defaultText ? `${s.default} (${s.defaultText})` : s.default;
    lines.push(`  ${s.flag} (${s.name})  ${plain(s.help)}; ${s.accepts}; default ${dflt}`);
  }
  lines.push('', 'Every setting in full: docs/configuration.md');
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
