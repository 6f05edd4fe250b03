// Worker thread that owns one ONNX Runtime session. The only module that imports
// onnxruntime-node: session.run is synchronous, so it must never run on the event loop.
import { workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { serveWorker } from '../workers/serve-worker.js';
import type { BackendInfo, BatchOutput, TensorInfo, TokenBatch } from './backend.js';

/** What an ORT worker is started with. */
export interface OrtWorkerData {
  modelPath: string;
  intraOpThreads: number;
  padTokenId: number;
}

const data = workerData as OrtWorkerData;

function describe(meta: readonly ort.InferenceSession.ValueMetadata[]): TensorInfo[] {
  return meta.map((m) => ({ name: m.name, shape: m.isTensor ? [...m.shape] : [] }));
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

await serveWorker<BackendInfo, TokenBatch, BatchOutput>(async () => {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(data.modelPath, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: data.intraOpThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    });
  } catch (err) {
    // ORT's messages are long and multi-line; keep the first line for the startup error.
    const first = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new Error(`cannot load ONNX model (${first})`);
  }
  const info: BackendInfo = {
    executionProvider: 'cpu',
    inputs: describe(session.inputMetadata),
    outputs: describe(session.outputMetadata),
  };
  return {
    info,
    handler: {
      async handle(batch) {
        const result = await session.run(feeds(session, batch), ['logits']);
        const t = result.logits!;
        const dims = t.dims;
        if (dims.length !== 2 || dims[0] !== batch.lengths.length) {
          throw new Error(`output logits has shape [${dims.join(', ')}], expected [${batch.lengths.length}, num_labels]`);
        }
        // Copy out of ORT's buffer so the result can be transferred, not cloned.
        const logits = Float32Array.from(t.data as Float32Array);
        for (const v of Object.values(result)) v.dispose();
        return { result: { logits, numLabels: dims[1]! }, transfer: [logits.buffer] };
      },
    },
  };
});
