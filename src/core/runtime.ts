import os from 'node:os';
import path from 'node:path';
import { Batcher } from '../batch/batcher.js';
import type { Config } from '../config.js';
import { KNOWN_INPUTS, READABLE_OUTPUT_TYPES, type Backend, type BackendInfo, type OutputPlan, type TensorInfo } from '../infer/backend.js';
import { OrtBackend, type OrtBackendOptions } from '../infer/ort-backend.js';
import { modelMetrics, type Metrics } from '../metrics.js';
import { ModelLoadError, readModelFolder, type ModelFolder } from '../model/model-folder.js';
import { weightVector } from '../postprocess/postprocess.js';
import { SLICE_LIMITS, TokenizerPool, tokenizeWorkerData } from '../tokenize/tokenizer-pool.js';
import { MALLOC_MMAP_THRESHOLD } from '../util/malloc-threshold.js';
import { checkPadding } from './padding-check.js';
import { Scorer } from './scorer.js';

/** Makes the backend; tests pass one that fails on purpose. */
export type BackendFactory = (opts: OrtBackendOptions) => Promise<Backend>;

/** One loaded model with its pipeline, ready to score. */
export interface ModelRuntime {
  readonly folder: ModelFolder;
  readonly backend: Backend;
  /** Columns of the reward output (labels per position for a token-level model). */
  readonly numLabels: number;
  /** Element type of the graph's reward output (converted to float32 by the backend). */
  readonly outputType: string;
  /** Whether the reward output is [batch, seq, labels]: a process (step) reward model. */
  readonly tokenLevel: boolean;
  /** Index of the reward output's column that is the reward (when there are no head weights). */
  readonly head: number;
  /**
   * Name of each head: the columns of the heads output (a multi-objective model's objectives)
   * or else of the reward output; id2label, else logit_<i>. Empty for a token-level model.
   */
  readonly headNames: readonly string[];
  /** reward.json head_weights per head index, or null: the reward is then the `head` column. */
  readonly weights: number[] | null;
  /** Whether the tokenizer encodes text pairs (`"format": "pair"`). */
  readonly pairs: boolean;
  /** MAX_BATCH_TOKENS as resolved for this model (see batchTokenBudget). */
  readonly maxBatchTokens: number;
  readonly scorer: Scorer;
  readonly batcher: Batcher;
  readonly metrics: Metrics;
  /** False while a worker of this model is being replaced after it died. */
  healthy(): boolean;
  /**
   * The padding self-check (see padding-check.ts): run at every load, WARMUP or not.
   * @throws ModelLoadError when the graph reads padding.
   */
  selfCheck(): Promise<void>;
  /** Runs one batch end to end, so the first real request does not pay for lazy init. */
  warmup(): Promise<void>;
  close(): Promise<void>;
}

/** An output by name, of a type the service reads. */
function readableOutput(info: BackendInfo, file: string, name: string, field: string): TensorInfo {
  const out = info.outputs.find((o) => o.name === name);
  if (!out) throw new ModelLoadError(file, `no output named "${name}" (${field}; outputs: ${info.outputs.map((o) => o.name).join(', ')})`);
  const type = out.type ?? 'unknown';
  if (!(READABLE_OUTPUT_TYPES as readonly string[]).includes(type)) {
    throw new ModelLoadError(file, `output ${name} is ${type}; the service reads ${READABLE_OUTPUT_TYPES.join(' or ')} logits (export with one of them, or end the graph with a Cast to float32)`);
  }
  return out;
}

/** What the session's outputs are, checked against reward.json's output contract. */
interface ModelIo {
  numLabels: number;
  outputType: string;
  tokenLevel: boolean;
  /** Columns of the heads output, or null without one. */
  numHeads: number | null;
}

/** Checks the session's declared I/O against what we can feed and read (reward.json `outputs` and `steps`). */
function checkModelIo(info: BackendInfo, folder: ModelFolder): ModelIo {
  const file = folder.modelPath;
  const rwFile = path.join(folder.dir, 'reward.json');
  const unknown = info.inputs.filter((i) => !(KNOWN_INPUTS as readonly string[]).includes(i.name));
  if (unknown.length > 0) {
    throw new ModelLoadError(file, `unknown input ${unknown.map((i) => `"${i.name}"`).join(', ')}; inputs must be among ${KNOWN_INPUTS.join(', ')}`);
  }
  if (!info.inputs.some((i) => i.name === 'input_ids')) throw new ModelLoadError(file, 'model has no input_ids input');
  const { outputs, steps } = folder.reward;
  const reward = readableOutput(info, file, outputs.reward, outputs.reward === 'logits' ? 'the default reward output' : 'reward.json outputs.reward');
  const rank = reward.shape.length;
  // An empty shape means the graph does not say; the warm-up batch checks the real one.
  const tokenLevel = rank === 3 || (rank === 0 && steps !== null);
  if (rank !== 0 && rank !== 2 && rank !== 3) {
    throw new ModelLoadError(file, `output ${reward.name} has rank ${rank} [${reward.shape.join(', ')}]; expected [batch, num_labels] or [batch, seq, labels]`);
  }
  if (tokenLevel && !steps) {
    throw new ModelLoadError(file, `output ${reward.name} has rank 3 [${reward.shape.join(', ')}]: a token-level model; reward.json needs "steps" to say which positions are read and how (see models/README.md)`);
  }
  if (!tokenLevel && steps) throw new ModelLoadError(rwFile, `steps needs a token-level reward output [batch, seq, labels]; output ${reward.name} is [${reward.shape.join(', ')}]`);
  const labels = reward.shape[tokenLevel ? 2 : 1];
  const numLabels = typeof labels === 'number' ? labels : Math.max(folder.labels.length, tokenLevel ? 2 : 1);
  if (steps) {
    const need = steps.positiveLabel ?? Math.max(...steps.candidateIds!);
    if (typeof labels === 'number' && need >= labels) {
      throw new ModelLoadError(rwFile, `steps.${steps.positiveLabel !== null ? 'positive_label' : 'candidates'} reads column ${need} of output ${reward.name}, which has ${labels}`);
    }
    if (steps.positiveLabel !== null && typeof labels === 'number' && labels < 2) throw new ModelLoadError(rwFile, `steps.positive_label needs an output with 2 or more labels; ${reward.name} has ${labels}`);
  }
  let numHeads: number | null = null;
  if (outputs.heads !== null) {
    const heads = readableOutput(info, file, outputs.heads, 'reward.json outputs.heads');
    if (heads.shape.length !== 0 && heads.shape.length !== 2) throw new ModelLoadError(file, `output ${heads.name} has rank ${heads.shape.length} [${heads.shape.join(', ')}]; heads must be [batch, K]`);
    if (tokenLevel) throw new ModelLoadError(rwFile, 'outputs.heads is for models with one reward per item; a token-level model has none');
    const k = heads.shape[1];
    numHeads = typeof k === 'number' ? k : Math.max(folder.labels.length, 1);
  }
  return { numLabels, outputType: reward.type!, tokenLevel, numHeads };
}

/** What the ORT workers read: the reward output (at step tags for a token-level model) and the heads. */
export function outputPlan(folder: ModelFolder): OutputPlan {
  const { outputs, steps } = folder.reward;
  return {
    reward: outputs.reward,
    ...(outputs.heads !== null && { heads: outputs.heads }),
    ...(steps && { tagId: steps.tagId }),
    ...(steps?.candidateIds && { columns: [...steps.candidateIds] }),
  };
}

/** How a model's sessions are laid out: how many, their threads, and whether ORT keeps an arena. */
export interface InferLayout {
  workers: number;
  intraOpThreads: number;
  memArena: boolean;
  /** Intra-op threads spin while waiting for work. */
  spinning: boolean;
}

/**
 * One copy of a large model's weights: each session holds its own, so a model of at least
 * LARGE_MODEL_MB (and any model on CUDA) gets one session with every core unless INFER_WORKERS
 * says otherwise; small models keep two single-thread sessions, which serve more on CPU. The
 * arena is off for large models: ORT's arena keeps its peak (a batch of long items) for good.
 */
export function inferLayout(config: Config, weightBytes: number, cores = os.availableParallelism()): InferLayout {
  const large = weightBytes >= config.largeModelMb * 2 ** 20;
  const workers = config.inferWorkers !== 'auto' ? config.inferWorkers : large || config.executionProvider === 'cuda' ? 1 : Math.min(2, cores);
  const intraOpThreads = config.intraOpThreads || Math.max(1, Math.floor(cores / workers));
  return {
    workers,
    intraOpThreads,
    memArena: config.cpuMemArena === 'auto' ? !large : config.cpuMemArena === 'on',
    spinning: config.intraOpSpinning === 'auto' ? !large : config.intraOpSpinning === 'on',
  };
}

/** MAX_BATCH_TOKENS `auto` without a reason to go lower. */
const DEFAULT_BATCH_TOKENS = 2048;
/** Bytes per activation value: CPU sessions compute in fp32. */
const ACTIVATION_BYTES = 4;

/**
 * MAX_BATCH_TOKENS for a model: as set, else 2048, or on CPU as many tokens as keep the model's
 * widest activation of a batch under glibc's mmap threshold (MALLOC_MMAP_THRESHOLD, which the
 * server starts with). At or above it each activation is mapped on its own and page-faulted in
 * again on every run; below it, malloc reuses the same memory from run to run.
 */
export function batchTokenBudget(config: Config, folder: Pick<ModelFolder, 'activationWidth'>): number {
  if (config.maxBatchTokens !== 'auto') return config.maxBatchTokens;
  if (config.executionProvider === 'cuda' || folder.activationWidth === null) return DEFAULT_BATCH_TOKENS;
  const underThreshold = Math.floor((Number(MALLOC_MMAP_THRESHOLD) - 1) / (folder.activationWidth * ACTIVATION_BYTES));
  return Math.max(1, Math.min(DEFAULT_BATCH_TOKENS, underThreshold));
}

/** ORT backend options for a model folder as the service builds them from its config (the bench uses it too). */
export function backendOptions(config: Config, folder: ModelFolder, metrics?: Metrics): OrtBackendOptions {
  return {
    modelPath: folder.modelPath,
    ...inferLayout(config, folder.weightBytes),
    graphOptimization: config.graphOptimization,
    padTokenId: folder.padTokenId,
    outputs: outputPlan(folder),
    executionProvider: config.executionProvider,
    deviceId: config.deviceId,
    allowCpuFallback: config.allowCpuFallback,
    ...(metrics && { onWorkerRestart: () => metrics.workerRestarts.inc({ pool: 'infer' }) }),
    ...prefixReuse(config, folder, metrics),
  };
}

/**
 * PREFIX_REUSE `auto`: on for a folder with prefix graphs whose reward is one value per item
 * (their continuation graph returns `logits` alone: no heads, no token-level rewards).
 */
export function prefixReuseOn(config: Config, folder: ModelFolder): boolean {
  const { outputs, steps } = folder.reward;
  return config.prefixReuse === 'auto' && folder.prefixGraphs !== null && outputs.heads === null && steps === null;
}

function prefixReuse(config: Config, folder: ModelFolder, metrics?: Metrics): Pick<OrtBackendOptions, 'prefix' | 'onPrefixStats'> {
  const g = folder.prefixGraphs;
  if (!g || !prefixReuseOn(config, folder)) return {};
  const m = metrics && modelMetrics(metrics, folder.name);
  return {
    prefix: { ...g, past: [...g.past], present: [...g.present], minTokens: config.prefixMinTokens, cacheBytes: config.prefixCacheMb * 2 ** 20 },
    ...(m && { onPrefixStats: m.prefix }),
  };
}

function resolveHead(folder: ModelFolder, numLabels: number, io: ModelIo): number {
  const h = folder.reward.rewardHead;
  if (io.tokenLevel) return 0;
  // With a heads output, id2label names the heads; the reward output is looked up by index only.
  const index = typeof h === 'number' ? h : io.numHeads === null ? folder.labels.indexOf(h) : -1;
  if (index < 0 || index >= numLabels) {
    throw new ModelLoadError(path.join(folder.dir, 'reward.json'), `reward_head ${JSON.stringify(h)} is not one of the model's ${numLabels} output(s)`);
  }
  return index;
}

function resolveWeights(folder: ModelFolder, names: readonly string[]): number[] | null {
  const w = folder.reward.headWeights;
  if (!w) return null;
  const { vector, unknown } = weightVector(names, w);
  if (unknown.length > 0) {
    throw new ModelLoadError(path.join(folder.dir, 'reward.json'), `head_weights name ${unknown.map((k) => JSON.stringify(k)).join(', ')}, not among the heads ${names.join(', ')}`);
  }
  return vector;
}

/**
 * Loads a model folder (by default the config's MODEL_DIR) and assembles its pipeline.
 * @throws ModelLoadError naming the file and the problem.
 */
export async function createRuntime(
  config: Config,
  metrics: Metrics,
  makeBackend: BackendFactory = OrtBackend.create,
  dir: string = config.modelDir,
): Promise<ModelRuntime> {
  const folder = readModelFolder(dir, { maxLengthCap: config.maxLengthCap });
  // The batcher starts after the tokenizers (its backend needs them ready); until then nothing is queued.
  let batcher: Batcher | undefined;
  const tokenizers = new TokenizerPool(config.tokenizerWorkers, tokenizeWorkerData(folder, config.tokenizerLibrary), {
    onRestart: () => metrics.workerRestarts.inc({ pool: 'tokenize' }),
    gather: { waitMs: config.tokenizeGatherMs, backlogMs: () => batcher?.backlogMs() ?? 0 },
  });
  let backend: Backend | undefined;
  try {
    // The tokenizers parse tokenizer.json while the session loads the weights: neither needs the
    // other, and a large model's ready time is their sum otherwise.
    const [tokenizing, loading] = await Promise.allSettled([tokenizers.ready(), makeBackend(backendOptions(config, folder, metrics))]);
    if (tokenizing.status === 'rejected') {
      if (loading.status === 'fulfilled') await loading.value.close();
      throw new ModelLoadError(path.join(folder.dir, 'tokenizer.json'), `cannot load tokenizer (${(tokenizing.reason as Error).message})`);
    }
    if (loading.status === 'rejected') {
      const err = loading.reason as Error;
      throw err instanceof ModelLoadError ? err : new ModelLoadError(folder.modelPath, err.message);
    }
    const tokInfo = tokenizing.value;
    backend = loading.value;
    const io = checkModelIo(backend.info, folder);
    const { numLabels, outputType } = io;
    const { executionProvider, requestedProvider, gpu } = backend.info;
    metrics.modelInfo.set(
      { model: folder.name, execution_provider: executionProvider, requested_provider: requestedProvider ?? executionProvider, device: gpu?.name ?? 'cpu' },
      1,
    );
    const head = resolveHead(folder, numLabels, io);
    const named = io.tokenLevel ? 0 : (io.numHeads ?? numLabels);
    const headNames = Array.from({ length: named }, (_, i) => folder.labels[i] ?? `logit_${i}`);
    const weights = resolveWeights(folder, headNames);
    if (folder.reward.inputFormat === 'pair' && !tokInfo.pairs) {
      throw new ModelLoadError(path.join(folder.dir, 'reward.json'), 'input_format "pair" needs a tokenizer with a pair template (post_processor)');
    }
    const own = modelMetrics(metrics, folder.name);
    const maxBatchTokens = batchTokenBudget(config, folder);
    batcher = new Batcher(backend, { ...config, maxBatchTokens, tokenizingShare: SLICE_LIMITS.maxItems }, own);
    metrics.addBusySource('tokenize', () => tokenizers.busyMs());
    metrics.addTokenCache(folder.name, () => tokenizers.cacheLookups());
    const measured = backend;
    if (measured.busyMs) metrics.addBusySource('infer', () => measured.busyMs!());
    const scorer = new Scorer(folder.reward.maxLength, tokenizers, batcher, own);
    const ready = backend;
    return {
      folder,
      backend: ready,
      numLabels,
      outputType,
      tokenLevel: io.tokenLevel,
      head,
      headNames,
      weights,
      pairs: tokInfo.pairs,
      maxBatchTokens,
      scorer,
      batcher,
      metrics,
      healthy: () => ready.healthy !== false && tokenizers.healthy,
      selfCheck: () => checkPadding(folder, tokenizers, ready, io.tokenLevel),
      async warmup() {
        await scorer.score([{ prompt: 'Hello.', response: 'Hello! How can I help?' }], { truncation: 'auto', format: folder.reward.inputFormat });
      },
      async close() {
        await Promise.all([tokenizers.close(), ready.close()]);
      },
    };
  } catch (err) {
    await Promise.all([tokenizers.close(), backend?.close()]);
    throw err;
  }
}
