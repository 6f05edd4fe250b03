// Worker thread that owns one ONNX Runtime session. The only module that imports
// onnxruntime-node: session.run is synchronous, so it must never run on the event loop.
import { createRequire } from 'node:module';
import path from 'node:path';
import { workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { serveWorker } from '../workers/serve-worker.js';
import {
  READABLE_OUTPUT_TYPES,
  type BackendInfo,
  type BatchOutput,
  type ExecutionProvider,
  type GpuInfo,
  type GraphOptimization,
  type OutputPlan,
  type TensorInfo,
  type TokenBatch,
} from './backend.js';
import { checkCuda, CudaUnavailableError } from './cuda-check.js';
import { float16ToFloat32, halfBits, halfToNumber } from './float16.js';

/** What an ORT worker is started with. */
export interface OrtWorkerData {
  modelPath: string;
  intraOpThreads: number;
  memArena: boolean;
  spinning: boolean;
  padTokenId: number;
  outputs: OutputPlan;
  graphOptimization: GraphOptimization;
  executionProvider: ExecutionProvider;
  deviceId: number;
  allowCpuFallback: boolean;
}

const data = workerData as OrtWorkerData;

function describe(meta: readonly ort.InferenceSession.ValueMetadata[]): TensorInfo[] {
  return meta.map((m) => (m.isTensor ? { name: m.name, shape: [...m.shape], type: m.type } : { name: m.name, shape: [] }));
}

/**
 * Logits as float32, copied out of ORT's buffer so they can be transferred. float16 is decoded
 * from its bit patterns, whichever typed array holds them (halfBits).
 */
function toFloat32(t: ort.Tensor, name: string): Float32Array<ArrayBuffer> {
  return readable(t, name) === 'float16' ? float16ToFloat32(halfBits(t.data as Uint16Array)) : Float32Array.from(t.data as Float32Array);
}

/** The tensor's element type, if the service can read it; else an error naming the output. */
function readable(t: ort.Tensor, name: string): 'float32' | 'float16' {
  if (t.type === 'float32' || t.type === 'float16') return t.type;
  throw new Error(`output ${name} is ${t.type}; expected ${READABLE_OUTPUT_TYPES.join(' or ')}`);
}

/** A [rows, n] output's values, checked against the batch. */
function rows(t: ort.Tensor | undefined, name: string, batch: TokenBatch): { values: Float32Array<ArrayBuffer>; n: number } {
  const dims = t?.dims ?? [];
  if (!t || dims.length !== 2 || dims[0] !== batch.lengths.length) {
    throw new Error(`output ${name} has shape [${dims.join(', ')}], expected [${batch.lengths.length}, n]`);
  }
  return { values: toFloat32(t, name), n: dims[1]! };
}

/**
 * A token-level output [rows, seq, labels]: per row, the plan's columns at its step-tag
 * positions (every position of a dense row). Only these values leave the worker: a vocabulary
 * head would otherwise copy seq × vocab floats per item.
 */
function positions(t: ort.Tensor, batch: TokenBatch, plan: OutputPlan): Pick<BatchOutput, 'positions' | 'counts' | 'width'> {
  const [n, seq, labels] = t.dims as [number, number, number];
  if (t.dims.length !== 3 || n !== batch.lengths.length) throw new Error(`output ${plan.reward} has shape [${t.dims.join(', ')}], expected [${batch.lengths.length}, seq, labels]`);
  const columns = plan.columns ?? Array.from({ length: labels }, (_, k) => k);
  if (columns.some((c) => c >= labels)) throw new Error(`output ${plan.reward} has ${labels} labels; the plan reads column ${Math.max(...columns)}`);
  const half = readable(t, plan.reward) === 'float16';
  const data = half ? halfBits(t.data as Uint16Array) : (t.data as Float32Array);
  const out: number[] = [];
  const counts = new Int32Array(n);
  let at = 0;
  for (let r = 0; r < n; r++) {
    const len = batch.lengths[r]!;
    const dense = batch.dense?.[r] === 1;
    for (let p = 0; p < len; p++) {
      if (!dense && batch.ids[at + p] !== plan.tagId) continue;
      const base = (r * seq + p) * labels;
      for (const c of columns) out.push(half ? halfToNumber(data[base + c]!) : data[base + c]!);
      counts[r]!++;
    }
    at += len;
  }
  return { positions: Float32Array.from(out), counts, width: columns.length };
}

/** Token type ids padded on the right with 0 (all 0 when the batch has none). */
function padded(typeIds: Uint8Array | undefined, lengths: Int32Array, width: number): BigInt64Array {
  const out = new BigInt64Array(lengths.length * width);
  if (!typeIds) return out;
  let at = 0;
  lengths.forEach((len, r) => {
    for (let c = 0; c < len; c++) out[r * width + c] = BigInt(typeIds[at + c]!);
    at += len;
  });
  return out;
}

/** Builds every input the session declares, padded on the right to the batch's longest item. */
function feeds(session: ort.InferenceSession, batch: TokenBatch): Record<string, ort.Tensor> {
  const rows = batch.lengths.length;
  const width = batch.lengths.reduce((a, b) => Math.max(a, b), 0);
  const ids = new BigInt64Array(rows * width).fill(BigInt(data.padTokenId));
  const mask = new BigInt64Array(rows * width);
  let at = 0;
  for (let r = 0; r < rows; r++) {
    const len = batch.lengths[r]!;
    for (let c = 0; c < len; c++) {
      ids[r * width + c] = BigInt(batch.ids[at + c]!);
      mask[r * width + c] = 1n;
    }
    at += len;
  }
  const dims = [rows, width];
  const out: Record<string, ort.Tensor> = {};
  for (const name of session.inputNames) {
    if (name === 'input_ids') out[name] = new ort.Tensor('int64', ids, dims);
    else if (name === 'attention_mask') out[name] = new ort.Tensor('int64', mask, dims);
    else if (name === 'token_type_ids') out[name] = new ort.Tensor('int64', padded(batch.typeIds, batch.lengths, width), dims);
    else if (name === 'position_ids') {
      const pos = new BigInt64Array(rows * width);
      for (let i = 0; i < pos.length; i++) pos[i] = BigInt(i % width);
      out[name] = new ort.Tensor('int64', pos, dims);
    }
  }
  return out;
}

/** ORT loads execution-provider libraries from the folder of its own libonnxruntime.so. */
function ortBinDir(): string {
  const pkg = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  return path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
}

const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0]!;

async function open(provider: ExecutionProvider): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(data.modelPath, {
    executionProviders: provider === 'cuda' ? [{ name: 'cuda', deviceId: data.deviceId }] : ['cpu'],
    graphOptimizationLevel: data.graphOptimization,
    intraOpNumThreads: data.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    enableCpuMemArena: data.memArena,
    enableMemPattern: data.memArena,
    extra: { session: { intra_op: { allow_spinning: data.spinning ? '1' : '0' } } },
  });
}

/** A CUDA session, or with allowCpuFallback a CPU session and the reason CUDA was not used. */
async function openCuda(): Promise<{ session: ort.InferenceSession; gpu?: GpuInfo; fallbackReason?: string }> {
  let reason: string;
  try {
    const gpu = checkCuda(ortBinDir(), data.deviceId);
    try {
      return { session: await open('cuda'), gpu };
    } catch (err) {
      // Blame the provider only if the same model opens on CPU; else it is the model's fault.
      const cpu = await open('cpu');
      await cpu.release();
      throw new CudaUnavailableError(`CUDA execution provider failed to start on device ${data.deviceId} (${firstLine(err)}); ONNX Runtime's log above names the cause`);
    }
  } catch (err) {
    if (!(err instanceof CudaUnavailableError)) throw err;
    reason = err.message;
  }
  if (!data.allowCpuFallback) throw new CudaUnavailableError(reason);
  return { session: await open('cpu'), fallbackReason: reason };
}

await serveWorker<BackendInfo, TokenBatch, BatchOutput>(async () => {
  let opened: { session: ort.InferenceSession; gpu?: GpuInfo; fallbackReason?: string };
  try {
    opened = data.executionProvider === 'cuda' ? await openCuda() : { session: await open('cpu') };
  } catch (err) {
    if (err instanceof CudaUnavailableError) throw err;
    // ORT's messages are long and multi-line; keep the first line for the startup error.
    const first = firstLine(err);
    // 16 is ONNX's BFLOAT16: onnxruntime-node has no tensor type for it, so it refuses the graph.
    if (/Unsupported data type: 16\b/.test(first)) {
      throw new Error('cannot load ONNX model: an input or output is bfloat16, which onnxruntime-node cannot return; export with float32 or float16 logits (or end the graph with a Cast to float32)');
    }
    throw new Error(`cannot load ONNX model (${first})`);
  }
  const { session } = opened;
  const info: BackendInfo = {
    executionProvider: opened.fallbackReason ? 'cpu' : data.executionProvider,
    requestedProvider: data.executionProvider,
    ...(opened.gpu && { gpu: opened.gpu }),
    ...(opened.fallbackReason && { fallbackReason: opened.fallbackReason }),
    inputs: describe(session.inputMetadata),
    outputs: describe(session.outputMetadata),
  };
  return {
    info,
    handler: {
      async handle(batch) {
        const plan = data.outputs;
        const result = await session.run(feeds(session, batch), plan.heads ? [plan.reward, plan.heads] : [plan.reward]);
        try {
          const t = result[plan.reward]!;
          let out: BatchOutput;
          if (t.dims.length === 3) {
            out = { logits: new Float32Array(0), numLabels: 0, ...positions(t, batch, plan) };
          } else {
            const r = rows(t, plan.reward, batch);
            out = { logits: r.values, numLabels: r.n };
          }
          if (plan.heads) {
            const h = rows(result[plan.heads], plan.heads, batch);
            out.heads = h.values;
            out.numHeads = h.n;
          }
          const transfer = [out.logits, out.heads, out.positions, out.counts].filter((a) => a !== undefined).map((a) => a.buffer as ArrayBuffer);
          return { result: out, transfer };
        } finally {
          for (const v of Object.values(result)) v.dispose();
        }
      },
    },
  };
});
