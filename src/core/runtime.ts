import path from 'node:path';
import { Batcher } from '../batch/batcher.js';
import type { Config } from '../config.js';
import { KNOWN_INPUTS, READABLE_OUTPUT_TYPES, type Backend, type BackendInfo } from '../infer/backend.js';
import { OrtBackend, type OrtBackendOptions } from '../infer/ort-backend.js';
import type { Metrics } from '../metrics.js';
import { ModelLoadError, readModelFolder, type ModelFolder } from '../model/model-folder.js';
import { weightVector } from '../postprocess/postprocess.js';
import { TokenizerPool, tokenizeWorkerData } from '../tokenize/tokenizer-pool.js';
import { checkPadding } from './padding-check.js';
import { Scorer } from './scorer.js';

/** Makes the backend; tests pass one that fails on purpose. */
export type BackendFactory = (opts: OrtBackendOptions) => Promise<Backend>;

/** One loaded model with its pipeline, ready to score. */
export interface ModelRuntime {
  readonly folder: ModelFolder;
  readonly backend: Backend;
  readonly numLabels: number;
  /** Element type of the graph's logits output (converted to float32 by the backend). */
  readonly outputType: string;
  /** Index of the output column that is the reward (when there are no head weights). */
  readonly head: number;
  /** Name of each output column: id2label, else logit_<i>. */
  readonly headNames: readonly string[];
  /** reward.json head_weights per head index, or null: the reward is then the `head` column. */
  readonly weights: number[] | null;
  /** Whether the tokenizer encodes text pairs (`"format": "pair"`). */
  readonly pairs: boolean;
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

/** Checks the session's declared I/O against what we can feed and read; returns num_labels and the logits type. */
function checkModelIo(info: BackendInfo, folder: ModelFolder): { numLabels: number; outputType: string } {
  const file = folder.modelPath;
  const unknown = info.inputs.filter((i) => !(KNOWN_INPUTS as readonly string[]).includes(i.name));
  if (unknown.length > 0) {
    throw new ModelLoadError(file, `unknown input ${unknown.map((i) => `"${i.name}"`).join(', ')}; inputs must be among ${KNOWN_INPUTS.join(', ')}`);
  }
  if (!info.inputs.some((i) => i.name === 'input_ids')) throw new ModelLoadError(file, 'model has no input_ids input');
  const logits = info.outputs.find((o) => o.name === 'logits');
  if (!logits) throw new ModelLoadError(file, `no output named "logits" (outputs: ${info.outputs.map((o) => o.name).join(', ')})`);
  // An empty shape means the graph does not say; the warm-up batch checks the real one.
  if (logits.shape.length !== 0 && logits.shape.length !== 2) {
    throw new ModelLoadError(file, `output logits has rank ${logits.shape.length} [${logits.shape.join(', ')}]; expected [batch, num_labels]`);
  }
  const outputType = logits.type ?? 'unknown';
  if (!(READABLE_OUTPUT_TYPES as readonly string[]).includes(outputType)) {
    throw new ModelLoadError(file, `output logits is ${outputType}; the service reads ${READABLE_OUTPUT_TYPES.join(' or ')} logits (export with one of them, or end the graph with a Cast to float32)`);
  }
  const labels = logits.shape[1];
  return { numLabels: typeof labels === 'number' ? labels : Math.max(folder.labels.length, 1), outputType };
}

/** ORT backend options for a model folder as the service builds them from its config (the bench uses it too). */
export function backendOptions(config: Config, folder: ModelFolder, metrics?: Metrics): OrtBackendOptions {
  return {
    modelPath: folder.modelPath,
    workers: config.inferWorkers,
    intraOpThreads: config.intraOpThreads,
    graphOptimization: config.graphOptimization,
    padTokenId: folder.padTokenId,
    executionProvider: config.executionProvider,
    deviceId: config.deviceId,
    allowCpuFallback: config.allowCpuFallback,
    ...(metrics && { onWorkerRestart: () => metrics.workerRestarts.inc({ pool: 'infer' }) }),
  };
}

function resolveHead(folder: ModelFolder, numLabels: number): number {
  const h = folder.reward.rewardHead;
  const index = typeof h === 'number' ? h : folder.labels.indexOf(h);
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
  const tokenizers = new TokenizerPool(config.tokenizerWorkers, tokenizeWorkerData(folder, config.tokenizerLibrary), () =>
    metrics.workerRestarts.inc({ pool: 'tokenize' }),
  );
  let backend: Backend | undefined;
  try {
    const tokInfo = await tokenizers.ready().catch((err: Error) => {
      throw new ModelLoadError(path.join(folder.dir, 'tokenizer.json'), `cannot load tokenizer (${err.message})`);
    });
    backend = await makeBackend(backendOptions(config, folder, metrics)).catch((err: Error) => {
      throw err instanceof ModelLoadError ? err : new ModelLoadError(folder.modelPath, err.message);
    });
    const { numLabels, outputType } = checkModelIo(backend.info, folder);
    const { executionProvider, requestedProvider, gpu } = backend.info;
    metrics.modelInfo.set(
      { model: folder.name, execution_provider: executionProvider, requested_provider: requestedProvider ?? executionProvider, device: gpu?.name ?? 'cpu' },
      1,
    );
    const head = resolveHead(folder, numLabels);
    const headNames = Array.from({ length: numLabels }, (_, i) => folder.labels[i] ?? `logit_${i}`);
    const weights = resolveWeights(folder, headNames);
    if (folder.reward.inputFormat === 'pair' && !tokInfo.pairs) {
      throw new ModelLoadError(path.join(folder.dir, 'reward.json'), 'input_format "pair" needs a tokenizer with a pair template (post_processor)');
    }
    const batcher = new Batcher(backend, config, metrics);
    metrics.addBusySource('tokenize', () => tokenizers.busyMs());
    const measured = backend;
    if (measured.busyMs) metrics.addBusySource('infer', () => measured.busyMs!());
    const scorer = new Scorer(folder.reward.maxLength, tokenizers, batcher, metrics);
    const ready = backend;
    return {
      folder,
      backend: ready,
      numLabels,
      outputType,
      head,
      headNames,
      weights,
      pairs: tokInfo.pairs,
      scorer,
      batcher,
      metrics,
      healthy: () => ready.healthy !== false && tokenizers.healthy,
      selfCheck: () => checkPadding(folder, tokenizers, ready),
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
