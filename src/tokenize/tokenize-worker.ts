// Worker thread: owns one Formatter and TokenEncoder, so rendering chat templates and
// tokenizing large requests never block the event loop.
import { workerData } from 'node:worker_threads';
import { ChatTemplate } from '../format/chat-template.js';
import { FormatError, Formatter } from '../format/format.js';
import { packedBuffers, packRows } from '../util/pack-rows.js';
import { serveWorker } from '../workers/serve-worker.js';
import { TokenEncoder } from './token-encoder.js';
import type { TokenizeInfo, TokenizeRequest, TokenizeResult, TokenizeWorkerData } from './tokenizer-pool.js';

const data = workerData as TokenizeWorkerData;

await serveWorker<TokenizeInfo, TokenizeRequest, TokenizeResult>(async () => {
  const encoder = new TokenEncoder(data.tokenizerJson, data.tokenizerConfig, data.maxLength);
  const chat = data.chatTemplate === null ? null : new ChatTemplate(data.chatTemplate, data.specialTokens);
  const formatter = new Formatter(data.template, chat);
  const pad = data.padToken === null ? undefined : encoder.tokenId(data.padToken);
  return {
    info: { specialTokens: encoder.before.length + encoder.after.length, padTokenId: pad ?? null, pairs: encoder.pairs },
    handler: {
      handle({ items, format, mode }) {
        const rows: number[][] = [];
        const types: (number[] | undefined)[] = [];
        const truncated = new Uint8Array(items.length);
        for (let i = 0; i < items.length; i++) {
          let formatted;
          try {
            formatted = formatter.format(items[i]!, format);
          } catch (err) {
            if (err instanceof FormatError) return { result: { failure: { index: i, code: err.code, message: err.message } } };
            throw err;
          }
          const r = encoder.encode(formatted, mode);
          if ('code' in r) return { result: { failure: { index: i, code: r.code, length: r.length } } };
          rows.push(r.ids);
          types.push(r.typeIds);
          truncated[i] = r.truncated ? 1 : 0;
        }
        const packed = packRows(rows, types);
        return { result: { ...packed, truncated }, transfer: [...packedBuffers(packed), truncated.buffer] };
      },
    },
  };
});
