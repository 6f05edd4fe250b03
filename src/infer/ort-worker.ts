// Worker thread that owns one ONNX Runtime session. The only module that imports
// onnxruntime-node: session.run is synchronous, so it must never run on the event loop.
import { createRequire } from 'node:module';
import path from 'node:path';
import { threadId, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { rowViews } from '../util/pack-rows.js';
import { serveWorker } from '../workers/serve-worker.js';
import {
  READABLE_OUTPUT_TYPES,
  type BackendInfo,
  type BatchOutput,
  type ExecutionProvider,
  type GpuInfo,
  type GraphOptimization,
  type OutputPlan,
  type PrefixStats,
  type TensorInfo,
  type TokenBatch,
} from './backend.js';
import { checkCuda, CudaUnavailableError } from './cuda-check.js';
import { float16ToFloat32, halfBits, halfToNumber } from './float16.js';
import { PrefixCache, type PrefixEntry } from './prefix-cache.js';
import { planPrefixes, prefixCap, type PrefixGroup } from './prefix-plan.js';

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
  /** Prefix reuse: its graph, served instead of modelPath, and settings; absent = off. */
  prefix?: PrefixReuse;
}

/**
 * What a worker needs for prefix reuse: the continuation graph (model-folder.ts PrefixGraphs; key
 * and value names flattened k0, v0, k1, …) and the settings.
 */
export interface PrefixReuse {
  continuePath: string;
  past: string[];
  present: string[];
  output: string;
  kvHeads: number;
  headDim: number;
  dtype: 'float32' | 'float16';
  minTokens: number;
  cacheBytes: number;
}

const data = workerData as OrtWorkerData;

// onnxruntime-node reads a float16 input only as Uint16Array bits: fed a Float16Array (what
// onnxruntime-common makes of float16 data wherever the class exists, as on Node 24) it fails
// with "not enough space". onnxruntime-common picks the class once, at its first tensor, so that
// first tensor is made with the class hidden: float16 keys and values stay bits, as on Node 20.
keepFloat16AsBits();
function keepFloat16AsBits(): void {
  const g = globalThis as { Float16Array?: unknown };
  const f16 = g.Float16Array;
  delete g.Float16Array;
  try {
    new ort.Tensor('float32', new Float32Array(1), [1]);
  } finally {
    if (f16 !== undefined) g.Float16Array = f16;
  }
}

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

/** A [count, n] output's values, checked against the batch's row count. */
function rows(t: ort.Tensor | undefined, name: string, count: number): { values: Float32Array<ArrayBuffer>; n: number } {
  const dims = t?.dims ?? [];
  if (!t || dims.length !== 2 || dims[0] !== count) {
    throw new Error(`output ${name} has shape [${dims.join(', ')}], expected [${count}, n]`);
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

/**
 * Token ids of `rows` after their first `past` (held as keys and values), right-padded with the
 * pad id to the longest, and the attention mask over past + ids: 1 over the past and real ids.
 */
function padRows(rows: readonly Int32Array[], past: number): { width: number; ids: BigInt64Array; mask: BigInt64Array } {
  const width = rows.reduce((a, row) => Math.max(a, row.length - past), 0);
  const ids = new BigInt64Array(rows.length * width).fill(BigInt(data.padTokenId));
  const mask = new BigInt64Array(rows.length * (past + width));
  rows.forEach((row, r) => {
    mask.fill(1n, r * (past + width), r * (past + width) + row.length);
    for (let c = past; c < row.length; c++) ids[r * width + c - past] = BigInt(row[c]!);
  });
  return { width, ids, mask };
}

/** position_ids [n, width]: past, past + 1, … in every row. */
function positionIds(n: number, width: number, past: number): BigInt64Array {
  const pos = new BigInt64Array(n * width);
  for (let i = 0; i < pos.length; i++) pos[i] = BigInt(past + (i % width));
  return pos;
}

/** Builds every input the session declares, padded on the right to the batch's longest item. */
function feeds(session: ort.InferenceSession, batch: TokenBatch): Record<string, ort.Tensor> {
  const rows = batch.lengths.length;
  const { width, ids, mask } = padRows(rowViews(batch), 0);
  const dims = [rows, width];
  const out: Record<string, ort.Tensor> = {};
  for (const name of session.inputNames) {
    if (name === 'input_ids') out[name] = new ort.Tensor('int64', ids, dims);
    else if (name === 'attention_mask') out[name] = new ort.Tensor('int64', mask, dims);
    else if (name === 'token_type_ids') out[name] = new ort.Tensor('int64', padded(batch.typeIds, batch.lengths, width), dims);
    else if (name === 'position_ids') out[name] = new ort.Tensor('int64', positionIds(rows, width, 0), dims);
  }
  return out;
}

/** ORT loads execution-provider libraries from the folder of its own libonnxruntime.so. */
function ortBinDir(): string {
  const pkg = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  return path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
}

const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0]!;

async function open(provider: ExecutionProvider, modelPath: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(modelPath, {
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
async function openCuda(modelPath: string): Promise<{ session: ort.InferenceSession; gpu?: GpuInfo; fallbackReason?: string }> {
  let reason: string;
  try {
    const gpu = checkCuda(ortBinDir(), data.deviceId);
    try {
      return { session: await open('cuda', modelPath), gpu };
    } catch (err) {
      // Blame the provider only if the same model opens on CPU; else it is the model's fault.
      const cpu = await open('cpu', modelPath);
      await cpu.release();
      throw new CudaUnavailableError(`CUDA execution provider failed to start on device ${data.deviceId} (${firstLine(err)}); ONNX Runtime's log above names the cause`);
    }
  } catch (err) {
    if (!(err instanceof CudaUnavailableError)) throw err;
    reason = err.message;
  }
  if (!data.allowCpuFallback) throw new CudaUnavailableError(reason);
  return { session: await open('cpu', modelPath), fallbackReason: reason };
}

/** One batch through model.onnx, padded to its longest item. */
async function runWhole(session: ort.InferenceSession, batch: TokenBatch): Promise<BatchOutput> {
  const plan = data.outputs;
  const result = await session.run(feeds(session, batch), plan.heads ? [plan.reward, plan.heads] : [plan.reward]);
  try {
    const t = result[plan.reward]!;
    let out: BatchOutput;
    if (t.dims.length === 3) {
      out = { logits: new Float32Array(0), numLabels: 0, ...positions(t, batch, plan) };
    } else {
      const r = rows(t, plan.reward, batch.lengths.length);
      out = { logits: r.values, numLabels: r.n };
    }
    if (plan.heads) {
      const h = rows(result[plan.heads], plan.heads, batch.lengths.length);
      out.heads = h.values;
      out.numHeads = h.n;
    }
    return out;
  } finally {
    for (const v of Object.values(result)) v.dispose();
  }
}

/** Each layer's keys and values of one prefix, [1, kv_heads, length, head_dim], in `present` order. */
type Past = ort.Tensor[];

const bytesOf = (past: Past) => past.reduce((a, t) => a + (t.data as ArrayBufferView).byteLength, 0);

/** The first `length` positions of a held prefix (a copy; the held one stays whole). */
function sliced(past: Past, length: number): Past {
  return past.map((t) => {
    const [b, h, n, d] = t.dims as [number, number, number, number];
    if (n === length) return t;
    const src = t.data as Float32Array;
    const out = new (src.constructor as Float32ArrayConstructor)(b * h * length * d);
    for (let i = 0; i < b * h; i++) out.set(src.subarray(i * n * d, i * n * d + length * d), i * length * d);
    return new ort.Tensor(t.type as 'float32', out, [b, h, length, d]);
  });
}

/**
 * Prefix reuse (PREFIX_REUSE) on `session`, the continuation graph, served instead of model.onnx
 * so that the worker holds one copy of the weights. Returns the batch handler that plans each
 * batch (prefix-plan.ts), runs each new prefix once from an empty past for its keys and values,
 * scores the rows of each group from them, and the other rows whole from an empty past.
 */
function prefixReuse(p: PrefixReuse, session: ort.InferenceSession): (batch: TokenBatch) => Promise<BatchOutput> {
  for (const name of session.inputNames) {
    if (!['input_ids', 'attention_mask', 'position_ids'].includes(name) && !p.past.includes(name)) throw new Error(`cannot load ${p.continuePath}: input ${name} is not one the service builds`);
  }
  const cache = new PrefixCache<Past>(p.cacheBytes);
  const opts = { minTokens: p.minTokens, padTokenId: data.padTokenId };
  const dims = [1, p.kvHeads, 0, p.headDim];
  const empty: Past = p.past.map(() => (p.dtype === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims)));

  /** `fetch` of rows continued from their first `length` ids, whose keys and values are `past`. */
  function run(rowIds: Int32Array[], length: number, past: Past, fetch: string[]): Promise<ort.InferenceSession.ReturnType> {
    const n = rowIds.length;
    const { width, ids, mask } = padRows(rowIds, length);
    const feed: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [n, width]),
      attention_mask: new ort.Tensor('int64', mask, [n, length + width]),
      position_ids: new ort.Tensor('int64', positionIds(n, width, length), [n, width]),
    };
    p.past.forEach((name, i) => (feed[name] = past[i]!));
    return session.run(feed, fetch);
  }

  /** Each row's logits, continued from `length` ids whose keys and values are `past` (length 0: whole rows). */
  async function score(rowIds: Int32Array[], length: number, past: Past): Promise<{ values: Float32Array<ArrayBuffer>; n: number }> {
    const result = await run(rowIds, length, past, [p.output]);
    try {
      return rows(result[p.output], p.output, rowIds.length);
    } finally {
      for (const v of Object.values(result)) v.dispose();
    }
  }

  async function runPrefix(ids: Int32Array): Promise<Past> {
    const r = await run([ids], 0, empty, p.present);
    return p.present.map((n) => r[n]!);
  }

  return async (batch) => {
    const views = rowViews(batch);
    const held = [...cache.entries()];
    const plan = planPrefixes(views, held.map((e) => e.ids), cache.recent(), opts);
    const before = { bytes: cache.bytes, evictions: cache.evictions };
    const stats: PrefixStats = { worker: threadId, hits: 0, misses: 0, reusedTokens: 0, evictions: 0, bytesDelta: 0 };
    const eligible = (r: number) => prefixCap(views[r]!, data.padTokenId) >= p.minTokens;
    const parts: { rows: number[]; values: Float32Array; n: number }[] = [];
    if (plan.plain.length > 0) {
      parts.push({ rows: plan.plain, ...(await score(plan.plain.map((r) => views[r]!), 0, empty)) });
      for (const r of plan.plain) {
        if (!eligible(r)) continue;
        stats.misses++;
        cache.remember(views[r]!.slice());
      }
    }
    for (const g of plan.groups) parts.push({ rows: g.rows, ...(await runGroup(g, views, held, stats)) });
    const n = parts[0]!.n;
    const logits = new Float32Array(views.length * n);
    for (const part of parts) part.rows.forEach((r, j) => logits.set(part.values.subarray(j * n, (j + 1) * n), r * n));
    stats.evictions = cache.evictions - before.evictions;
    stats.bytesDelta = cache.bytes - before.bytes;
    return { logits, numLabels: n, prefix: stats };
  };

  async function runGroup(g: PrefixGroup, views: Int32Array[], held: readonly PrefixEntry<Past>[], stats: PrefixStats): Promise<{ values: Float32Array; n: number }> {
    let past: Past;
    if ('held' in g.source) {
      const entry = held[g.source.held]!;
      cache.touch(entry);
      past = sliced(entry.value, g.length);
      stats.hits += g.rows.length;
      stats.reusedTokens += g.rows.length * g.length;
    } else {
      const ids = views[g.source.row]!.slice(0, g.length);
      past = await runPrefix(ids);
      cache.add(ids, past, bytesOf(past));
      stats.misses += g.rows.length;
      stats.reusedTokens += (g.rows.length - 1) * g.length;
    }
    return score(g.rows.map((r) => views[r]!), g.length, past);
  }
}

await serveWorker<BackendInfo, TokenBatch, BatchOutput>(async () => {
  let opened: { session: ort.InferenceSession; gpu?: GpuInfo; fallbackReason?: string };
  // With prefix reuse the continuation graph is the only session: it scores whole rows too.
  const modelPath = data.prefix?.continuePath ?? data.modelPath;
  try {
    opened = data.executionProvider === 'cuda' ? await openCuda(modelPath) : { session: await open('cpu', modelPath) };
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
    // The continuation graph's keys and values in and out are the worker's own business: the
    // service sees the inputs it builds and the logits, as of model.onnx.
    inputs: describe(session.inputMetadata).filter((i) => !data.prefix?.past.includes(i.name)),
    outputs: describe(session.outputMetadata).filter((o) => !data.prefix?.present.includes(o.name)),
  };
  const reuse = data.prefix ? prefixReuse(data.prefix, session) : null;
  return {
    info,
    handler: {
      async handle(batch) {
        const out = reuse ? await reuse(batch) : await runWhole(session, batch);
        const transfer = [out.logits, out.heads, out.positions, out.counts].filter((a) => a !== undefined).map((a) => a.buffer as ArrayBuffer);
        return { result: out, transfer };
      },
    },
  };
});
