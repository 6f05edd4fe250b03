import type { PackedRows } from '../util/pack-rows.js';
import type { GpuInfo } from './cuda-check.js';

/** Token ids of one batch, packed by packRows: item i has `lengths[i]` ids. */
export type TokenBatch = PackedRows;

/**
 * Model output of one batch. `logits[i * numLabels + k]` is column k of item i's reward output
 * (empty, numLabels 0, for a token-level model). With a heads output, `heads[i * numHeads + k]`
 * is head k of item i. A token-level model gives, per row, `width` values at each position it
 * read (see OutputPlan): row i's `counts[i]` positions follow row i − 1's in `positions`.
 */
export interface BatchOutput {
  /** Prefix reuse in this batch, when the backend reuses prefixes. */
  prefix?: PrefixStats;
  logits: Float32Array;
  numLabels: number;
  heads?: Float32Array;
  numHeads?: number;
  positions?: Float32Array;
  counts?: Int32Array;
  width?: number;
}

/** What prefix reuse did in one batch (reward_prefix_* metrics). */
export interface PrefixStats {
  /** The threadId of the worker whose prefix cache this is. */
  worker: number;
  /** Items of at least the minimum prefix length served from a held prefix. */
  hits: number;
  /** Such items that ran a new prefix or ran whole. */
  misses: number;
  /** Token positions not computed again. */
  reusedTokens: number;
  /** Held prefixes evicted. */
  evictions: number;
  /** Change of the bytes this worker holds. */
  bytesDelta: number;
}

/**
 * Which graph outputs a worker reads, given at init so it copies out only what the main thread
 * uses. A `[batch, seq, labels]` reward output is token-level: the worker reads the `columns`
 * (all labels when absent) at the positions holding `tagId`, or at every position of a dense row.
 */
export interface OutputPlan {
  reward: string;
  heads?: string;
  tagId?: number;
  columns?: number[];
}

/** Description of one model input or output as the runtime declares it. */
export interface TensorInfo {
  name: string;
  /** Dimensions; a string is a symbolic (dynamic) axis. Empty when the model does not say. */
  shape: ReadonlyArray<number | string>;
  /** Element type as ONNX Runtime names it (float32, float16, int64, …); absent when not a tensor. */
  type?: string;
}

/** Element types of the reward and heads outputs the service can read (converted to float32 in the worker). */
export const READABLE_OUTPUT_TYPES = ['float32', 'float16'] as const;

/** ONNX Runtime graph optimization level; 'all' unless measuring what it gains. */
export type GraphOptimization = 'disabled' | 'basic' | 'extended' | 'all';

/** Where ONNX Runtime runs a model. */
export type ExecutionProvider = 'cpu' | 'cuda';

export type { GpuInfo };

/** What a backend reports once its session is loaded. */
export interface BackendInfo {
  /** The provider actually used. */
  executionProvider: string;
  /** The provider the config asked for; differs from executionProvider after a CPU fallback. */
  requestedProvider?: ExecutionProvider;
  /** Why the requested provider was not used (ALLOW_CPU_FALLBACK). */
  fallbackReason?: string;
  /** The GPU of a CUDA session, when nvidia-smi can describe it. */
  gpu?: GpuInfo;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
}

/**
 * Runs padded batches of token ids through a model. The batcher only sees this interface, so
 * the ONNX Runtime CPU backend, a GPU backend or a test backend that fails on purpose plug in
 * the same way.
 */
export interface Backend {
  readonly info: BackendInfo;
  /** Batches it can run at once (one per worker). */
  readonly concurrency: number;
  /** False while the backend cannot run at full strength (a dead worker being replaced); absent = always true. */
  readonly healthy?: boolean;
  /** Busy milliseconds of its threads so far, for reward_thread_busy_seconds_total; absent = not measured. */
  busyMs?(): number;
  /** Pads `batch` to its longest item and runs it. Rejects if inference fails. */
  run(batch: TokenBatch): Promise<BatchOutput>;
  close(): Promise<void>;
}

/** Model inputs the service knows how to build. */
export const KNOWN_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids', 'position_ids'] as const;
