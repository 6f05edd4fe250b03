// Worker thread: owns one Formatter and TokenEncoder, so rendering chat templates and
// tokenizing large requests never block the event loop.
import { workerData } from 'node:worker_threads';
import { ChatTemplate } from '../format/chat-template.js';
import { FormatError, Formatter, type FormattedItem } from '../format/format.js';
import { packedBuffers, packRows } from '../util/pack-rows.js';
import { serveWorker } from '../workers/serve-worker.js';
import { AddedTokenSplitter } from './added-tokens.js';
import { applyCharWindow, charWindowOf } from './char-window.js';
import { encodePlans, type BatchTokenize } from './encode-plans.js';
import { rustBatchTokenize } from './rust-tokenizer.js';
import { TokenCache } from './token-cache.js';
import { TokenEncoder, type EncodedItem, type EncodeFailure, type TruncationMode } from './token-encoder.js';
import type { TokenizeFailure, TokenizeInfo, TokenizeRequest, TokenizeResult, TokenizeWorkerData } from './tokenizer-pool.js';

const data = workerData as TokenizeWorkerData;

await serveWorker<TokenizeInfo, TokenizeRequest[], TokenizeResult[]>(async () => {
  const counts = data.cacheCounts ?? null;
  const encoder = new TokenEncoder(data.tokenizerJson, data.tokenizerConfig, data.maxLength, counts);
  const batch = data.library === 'rust' ? cached(rustBatchTokenize(data.tokenizerJson), AddedTokenSplitter.from(data.tokenizerJson), counts) : null;
  const window = charWindowOf(data.tokenizerJson, data.maxLength);
  const chat = data.chatTemplate === null ? null : new ChatTemplate(data.chatTemplate, data.specialTokens);
  const formatter = new Formatter(data.template, chat);

  /**
   * Encodes each request's items in order. The Rust binding runs every plan of the group in
   * lockstep (one batch call per round); the card's library stops a request at its first failure.
   */
  const encodeGroup = async (groups: FormattedItem[][], modes: TruncationMode[]): Promise<(EncodedItem | EncodeFailure)[][]> => {
    if (batch) {
      const flat = await encodePlans(groups.flatMap((items, k) => items.map((f) => encoder.plan(f, modes[k]!))), batch);
      let at = 0;
      return groups.map((items) => flat.slice(at, (at += items.length)));
    }
    return groups.map((items, k) => {
      const out: (EncodedItem | EncodeFailure)[] = [];
      for (const f of items) {
        const r = encoder.encode(f, modes[k]!);
        out.push(r);
        if ('code' in r) break;
      }
      return out;
    });
  };

  /** Renders a request's items; the first one that cannot be rendered fails the request. */
  const formatAll = ({ items, format }: TokenizeRequest): { formatted: FormattedItem[]; failure: TokenizeFailure | null } => {
    const formatted: FormattedItem[] = [];
    for (let i = 0; i < items.length; i++) {
      try {
        formatted.push(applyCharWindow(formatter.format(items[i]!, format), window, encoder.tailSafe));
      } catch (err) {
        if (!(err instanceof FormatError)) throw err;
        return { formatted, failure: { index: i, code: err.code, message: err.message } };
      }
    }
    return { formatted, failure: null };
  };

  /** One request's answer: its first failure (encoding first, as items are read in order), or its packed ids. */
  const answer = (req: TokenizeRequest, formatted: FormattedItem[], formatFailure: TokenizeFailure | null, encoded: (EncodedItem | EncodeFailure)[]) => {
    const bad = encoded.findIndex((r) => 'code' in r);
    if (bad >= 0) {
      const failure = { index: bad, ...(encoded[bad] as EncodeFailure), ...(formatted[bad]!.windowed && { atLeast: true }) };
      return { result: { failure }, transfer: [] };
    }
    if (formatFailure) return { result: { failure: formatFailure }, transfer: [] };
    const ok = encoded as EncodedItem[];
    const truncated = Uint8Array.from(ok, (r) => (r.truncated ? 1 : 0));
    const packed = packRows(ok.map((r) => r.ids), ok.map((r) => r.typeIds));
    const explained = req.explain
      ? formatted.map((f, i) => ({
          text: f.text,
          ...(f.second !== undefined && { textPair: f.second }),
          tokens: encoder.tokenStrings(ok[i]!.ids),
          responseStart: encoder.lastTurnStart(f, ok[i]!.ids),
        }))
      : undefined;
    const tag = data.stepTag;
    // The tag is an added token (checked at load), so each occurrence in the text is one tag id.
    const tags = tag === null ? undefined : Int32Array.from(formatted, (f) => f.text.split(tag).length - 1 + (f.second?.split(tag).length ?? 1) - 1);
    const transfer = [...packedBuffers(packed), truncated.buffer, ...(tags ? [tags.buffer] : [])];
    return { result: { ...packed, truncated, ...(tags && { tags }), ...(explained && { explained }) }, transfer };
  };

  return {
    info: { specialTokens: encoder.before.length + encoder.after.length, pairs: encoder.pairs },
    handler: {
      // Several requests per message (TokenizerPool groups those that waited for a free worker).
      async handle(requests) {
        const rendered = requests.map(formatAll);
        const encoded = await encodeGroup(
          rendered.map((r) => r.formatted),
          requests.map((r) => r.mode),
        );
        const answers = requests.map((req, k) => answer(req, rendered[k]!.formatted, rendered[k]!.failure, encoded[k]!));
        return { result: answers.map((a) => a.result), transfer: answers.flatMap((a) => a.transfer) };
      },
    },
  };
});

/**
 * A batch tokenizer that asks the library only for text parts (between added tokens, see
 * AddedTokenSplitter) it has not tokenized lately, each once: the ids are the same, and a prompt
 * shared by many items is tokenized once.
 */
function cached(tokenize: BatchTokenize, splitter: AddedTokenSplitter | null, counts: BigInt64Array | null): BatchTokenize {
  const cache = new TokenCache(counts);
  return async (texts) => {
    const parts = texts.map((t) => splitter?.split(t) ?? [t]);
    const known = new Map<string, readonly number[]>();
    const missing = new Set<string>();
    for (const p of parts.flat()) {
      if (typeof p !== 'string' || known.has(p) || missing.has(p)) continue;
      const ids = cache.get(p);
      if (ids) known.set(p, ids);
      else missing.add(p);
    }
    const asked = [...missing];
    const fresh = asked.length > 0 ? await tokenize(asked) : [];
    asked.forEach((t, i) => {
      known.set(t, fresh[i]!);
      cache.set(t, fresh[i]!);
    });
    return parts.map((ps) => ps.flatMap((p) => (typeof p === 'number' ? [p] : (known.get(p) as number[]))));
  };
}
