// Worker thread: owns one TokenEncoder, so tokenizing large requests never blocks the event loop.
import { workerData } from 'node:worker_threads';
import { packRows } from '../util/pack-rows.js';
import { serveWorker } from '../workers/serve-worker.js';
import { TokenEncoder } from './token-encoder.js';
import type { TokenizeInfo, TokenizeRequest, TokenizeResult, TokenizeWorkerData } from './tokenizer-pool.js';

const data = workerData as TokenizeWorkerData;

await serveWorker<TokenizeInfo, TokenizeRequest, TokenizeResult>(async () => {
  const encoder = new TokenEncoder(data.tokenizerJson, data.tokenizerConfig, data.maxLength);
  const pad = data.padToken === null ? undefined : encoder.tokenId(data.padToken);
  return {
    info: { specialTokens: encoder.before.length + encoder.after.length, padTokenId: pad ?? null },
    handler: {
      handle({ items, mode }) {
        const rows: number[][] = [];
        const truncated = new Uint8Array(items.length);
        for (let i = 0; i < items.length; i++) {
          const r = encoder.encode(items[i]!, mode);
          if ('code' in r) return { result: { failure: { index: i, code: r.code, length: r.length } } };
          rows.push(r.ids);
          truncated[i] = r.truncated ? 1 : 0;
        }
        const { ids, lengths } = packRows(rows);
        return { result: { ids, lengths, truncated }, transfer: [ids.buffer, lengths.buffer, truncated.buffer] };
      },
    },
  };
});
