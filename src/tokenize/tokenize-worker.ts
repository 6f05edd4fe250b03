// Worker thread: owns one Formatter and TokenEncoder, so rendering chat templates and
// tokenizing large requests never block the event loop.
import { workerData } from 'node:worker_threads';
import { ChatTemplate } from '../format/chat-template.js';
import { FormatError, Formatter, type FormattedItem } from '../format/format.js';
import { packedBuffers, packRows } from '../util/pack-rows.js';
import { serveWorker } from '../workers/serve-worker.js';
import { encodePlans } from './encode-plans.js';
import { rustBatchTokenize } from './rust-tokenizer.js';
import { TokenEncoder, type EncodedItem, type EncodeFailure, type TruncationMode } from './token-encoder.js';
import type { TokenizeFailure, TokenizeInfo, TokenizeRequest, TokenizeResult, TokenizeWorkerData } from './tokenizer-pool.js';

const data = workerData as TokenizeWorkerData;

await serveWorker<TokenizeInfo, TokenizeRequest, TokenizeResult>(async () => {
  const encoder = new TokenEncoder(data.tokenizerJson, data.tokenizerConfig, data.maxLength);
  const batch = data.library === 'rust' ? rustBatchTokenize(data.tokenizerJson) : null;
  const chat = data.chatTemplate === null ? null : new ChatTemplate(data.chatTemplate, data.specialTokens);
  const formatter = new Formatter(data.template, chat);

  /** Encodes items in order; the card's library stops at the first failure. */
  const encodeAll = async (items: FormattedItem[], mode: TruncationMode): Promise<(EncodedItem | EncodeFailure)[]> => {
    if (batch) return encodePlans(items.map((f) => encoder.plan(f, mode)), batch);
    const out: (EncodedItem | EncodeFailure)[] = [];
    for (const f of items) {
      const r = encoder.encode(f, mode);
      out.push(r);
      if ('code' in r) break;
    }
    return out;
  };

  return {
    info: { specialTokens: encoder.before.length + encoder.after.length, pairs: encoder.pairs },
    handler: {
      async handle({ items, format, mode, explain }) {
        // A request fails as a whole at its first item that cannot be formatted or encoded.
        const formatted: FormattedItem[] = [];
        let formatFailure: TokenizeFailure | null = null;
        for (let i = 0; i < items.length && !formatFailure; i++) {
          try {
            formatted.push(formatter.format(items[i]!, format));
          } catch (err) {
            if (!(err instanceof FormatError)) throw err;
            formatFailure = { index: i, code: err.code, message: err.message };
          }
        }
        const encoded = await encodeAll(formatted, mode);
        const bad = encoded.findIndex((r) => 'code' in r);
        if (bad >= 0) return { result: { failure: { index: bad, ...(encoded[bad] as EncodeFailure) } } };
        if (formatFailure) return { result: { failure: formatFailure } };
        const ok = encoded as EncodedItem[];
        const truncated = Uint8Array.from(ok, (r) => (r.truncated ? 1 : 0));
        const packed = packRows(ok.map((r) => r.ids), ok.map((r) => r.typeIds));
        const explained = explain
          ? formatted.map((f, i) => ({ text: f.text, ...(f.second !== undefined && { textPair: f.second }), tokens: encoder.tokenStrings(ok[i]!.ids) }))
          : undefined;
        return { result: { ...packed, truncated, ...(explained && { explained }) }, transfer: [...packedBuffers(packed), truncated.buffer] };
      },
    },
  };
});
