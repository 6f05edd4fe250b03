// 6. Tokenization throughput: @huggingface/tokenizers on this thread (raw, and the service's
// TokenEncoder with truncation), in the service's worker pool, and the Rust `tokenizers` binding.
import { createRequire } from 'node:module';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { Formatter } from '../../src/format/format.js';
import { TokenEncoder } from '../../src/tokenize/token-encoder.js';
import { TokenizerPool, tokenizeWorkerData } from '../../src/tokenize/tokenizer-pool.js';
import type { BenchContext } from '../lib/context.js';
import { repeat, spread, sum, type Spread } from '../lib/stats.js';

// The Rust binding is CommonJS with its own types; a devDependency, used only here.
const rust = createRequire(import.meta.url)('tokenizers') as typeof import('tokenizers');

/**
 * Every rate counts the tokens of the whole formatted texts, whatever a tokenizer reads of them
 * (TokenEncoder reads only the tail of an over-long text), so rates compare texts per second.
 */
export interface TokenizationResult {
  texts: number;
  /** Tokens in all texts together (whole texts, no special tokens). */
  totalTokens?: number;
  /** tokens/s, @huggingface/tokenizers encode() on the main thread, no truncation. */
  jsMain: Spread;
  /** tokens/s, the service's TokenEncoder (format, encode, truncate) on the main thread. */
  serviceMain: Spread;
  /** tokens/s through TokenizerPool, requests of `batch` items all in flight, by worker count. */
  pool: { workers: number; library?: 'huggingface' | 'rust'; tokensPerSecond: Spread }[];
  /** tokens/s, Rust binding encode() one text at a time (awaited). */
  rustEncode: Spread;
  /** tokens/s, Rust binding encodeBatch() of `batch` texts at a time. */
  rustBatch: Spread;
  /** Whether both libraries gave the same token count for every text. */
  sameTokens: boolean;
}

const rate = async (fn: () => number | Promise<number>) => {
  const t0 = performance.now();
  const tokens = await fn();
  return tokens / ((performance.now() - t0) / 1000);
};

export async function tokenizationSection(ctx: BenchContext): Promise<TokenizationResult> {
  const { folder, items } = ctx.corpus;
  const { batch, repeats } = ctx.opts;
  const fmt = new Formatter(folder.reward.template);
  const formatted = items.map((it) => fmt.format(it));
  const texts = formatted.map((f) => f.text);
  const js = new Tokenizer(folder.tokenizerJson, folder.tokenizerConfig);
  const enc = new TokenEncoder(folder.tokenizerJson, folder.tokenizerConfig, folder.reward.maxLength);
  const rs = rust.Tokenizer.fromFile(path.join(folder.dir, 'tokenizer.json'));
  const chunks: string[][] = [];
  for (let i = 0; i < texts.length; i += batch) chunks.push(texts.slice(i, i + batch));

  const jsCounts = texts.map((t) => js.encode(t).ids.length);
  const rsCounts = await Promise.all(texts.map(async (t) => (await rs.encode(t)).getIds().length));
  const sameTokens = jsCounts.every((n, i) => n === rsCounts[i]);

  const jsMain = await repeat(repeats, () => rate(() => sum(texts.map((t) => js.encode(t).ids.length))));
  const totalTokens = sum(jsCounts);
  const serviceMain = await repeat(repeats, () =>
    rate(() => {
      for (const f of formatted) enc.encode(f, 'auto');
      return totalTokens;
    }),
  );
  const rustEncode = await repeat(repeats, () =>
    rate(async () => {
      let n = 0;
      for (const t of texts) n += (await rs.encode(t)).getIds().length;
      return n;
    }),
  );
  const rustBatch = await repeat(repeats, () =>
    rate(async () => {
      let n = 0;
      for (const c of chunks) for (const e of await rs.encodeBatch(c)) n += e.getIds().length;
      return n;
    }),
  );
  const pool: TokenizationResult['pool'] = [];
  type Library = TokenizationResult['pool'][number]['library'] & string;
  const setups: { workers: number; library: Library }[] = [...new Set([ctx.config.tokenizerWorkers, 2])].map((workers) => ({ workers, library: 'huggingface' }));
  setups.push({ workers: 1, library: 'rust' });
  for (const { workers, library } of setups) {
    const p = new TokenizerPool(workers, tokenizeWorkerData(folder, library));
    try {
      await p.ready();
      const itemChunks: (typeof items)[] = [];
      for (let i = 0; i < items.length; i += batch) itemChunks.push(items.slice(i, i + batch));
      const runs = await repeat(repeats, () =>
        rate(async () => {
          await Promise.all(itemChunks.map((c) => p.tokenize(c, folder.reward.inputFormat, 'auto')));
          return totalTokens;
        }),
      );
      pool.push({ workers, library, tokensPerSecond: spread(runs) });
    } finally {
      await p.close();
    }
  }
  const r = { texts: texts.length, totalTokens, jsMain: spread(jsMain), serviceMain: spread(serviceMain), pool, rustEncode: spread(rustEncode), rustBatch: spread(rustBatch), sameTokens };
  ctx.log(`  tokens/s: js main ${r.jsMain.median.toFixed(0)}, service main ${r.serviceMain.median.toFixed(0)}, rust encode ${r.rustEncode.median.toFixed(0)}, rust batch ${r.rustBatch.median.toFixed(0)}, pool ${pool.map((p) => `${p.library} ${p.workers}w ${p.tokensPerSecond.median.toFixed(0)}`).join(', ')}`);
  return r;
}
