// The raw ONNX Runtime rate: the service's own tokenizer and worker setup, no HTTP, no batcher.
import { ChatTemplate } from '../../src/format/chat-template.js';
import { FormatError, Formatter } from '../../src/format/format.js';
import type { Backend } from '../../src/infer/backend.js';
import { OrtBackend, type OrtBackendOptions } from '../../src/infer/ort-backend.js';
import { readModelFolder, type FolderLimits, type ModelFolder } from '../../src/model/model-folder.js';
import { TokenEncoder } from '../../src/tokenize/token-encoder.js';
import { packRows } from '../../src/util/pack-rows.js';
import type { HhItem } from '../hh-data.js';

/** HH items tokenized as the service does it (its input format and template, truncation to max_length). */
export interface Corpus {
  folder: ModelFolder;
  /** The items the model accepts (a response longer than max_length on its own gets 422). */
  items: HhItem[];
  /** Token ids of `items[i]`, special tokens included. */
  rows: number[][];
  tokens: number;
  /** Seconds to format and tokenize every item on this thread (TokenEncoder, truncation included). */
  tokenizeSeconds: number;
}

/**
 * Token ids of an item as the service renders it (the folder's input format, its chat template for
 * "chat") and truncates it; null where the service refuses it.
 */
export function serviceEncoder(folder: ModelFolder): (item: HhItem) => number[] | null {
  const enc = new TokenEncoder(folder.tokenizerJson, folder.tokenizerConfig, folder.reward.maxLength);
  const chat = folder.chatTemplate === null ? null : new ChatTemplate(folder.chatTemplate, folder.specialTokens);
  const fmt = new Formatter(folder.reward.template, chat);
  return (item) => {
    try {
      const r = enc.encode(fmt.format(item, folder.reward.inputFormat), 'auto');
      return 'code' in r ? null : r.ids;
    } catch (err) {
      if (err instanceof FormatError) return null;
      throw err;
    }
  };
}

export function loadCorpus(modelDir: string, all: readonly HhItem[], limits: FolderLimits): Corpus {
  const folder = readModelFolder(modelDir, limits);
  const encode = serviceEncoder(folder);
  const items: HhItem[] = [];
  const rows: number[][] = [];
  const t0 = performance.now();
  for (const it of all) {
    const ids = encode(it);
    if (ids === null) continue;
    rows.push(ids);
    items.push(it);
  }
  const tokenizeSeconds = (performance.now() - t0) / 1000;
  return { folder, items, rows, tokens: rows.reduce((a, r) => a + r.length, 0), tokenizeSeconds };
}

const byLength = (rows: readonly number[][]) => [...rows].sort((a, b) => a.length - b.length);

/** Rows sorted by length, in batches of `size` (the definition of L). */
export function fixedBatches(rows: readonly number[][], size: number): number[][][] {
  const s = byLength(rows);
  const out: number[][][] = [];
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
  return out;
}

/** Rows sorted by length, cut at the service's limits (items, and items × longest): L'. */
export function limitedBatches(rows: readonly number[][], maxSize: number, maxTokens: number): number[][][] {
  const out: number[][][] = [[]];
  for (const r of byLength(rows)) {
    const cur = out[out.length - 1]!;
    if (cur.length > 0 && (cur.length >= maxSize || (cur.length + 1) * r.length > maxTokens)) out.push([r]);
    else cur.push(r);
  }
  return out;
}

/** Items/s running every batch once, one loop per worker taking the next batch as soon as it is free. */
export async function measureRate(backend: Backend, batches: readonly number[][][]): Promise<number> {
  await backend.run(packRows(batches[0]!)); // first-run allocations out of the timing
  const items = batches.reduce((a, b) => a + b.length, 0);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: backend.concurrency }, async () => {
      while (next < batches.length) await backend.run(packRows(batches[next++]!));
    }),
  );
  return items / ((performance.now() - t0) / 1000);
}

/** Items/s and tokens/s of `rows`, sorted by length in batches of `batch` (see measureRate). */
export async function rateOn(backend: Backend, rows: readonly number[][], batch: number): Promise<{ itemsPerSecond: number; tokensPerSecond: number }> {
  const itemsPerSecond = await measureRate(backend, fixedBatches(rows, batch));
  return { itemsPerSecond, tokensPerSecond: (itemsPerSecond * rows.reduce((a, r) => a + r.length, 0)) / rows.length };
}

/** An ORT backend for `fn`, always closed after. */
export async function withBackend<T>(opts: OrtBackendOptions, fn: (b: Backend) => Promise<T>): Promise<T> {
  const backend = await OrtBackend.create(opts);
  try {
    return await fn(backend);
  } finally {
    await backend.close();
  }
}
