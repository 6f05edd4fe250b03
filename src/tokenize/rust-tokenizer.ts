import { createRequire } from 'node:module';
import type { BatchTokenize } from './encode-plans.js';

/**
 * The Rust `tokenizers` binding as a BatchTokenize (TOKENIZER_LIBRARY=rust). It gives the same
 * ids as @huggingface/tokenizers (test/tokenize/rust-tokenizer.test.ts) at about 1.8× the rate
 * per core, and tokenizes a batch on its own threads. Loaded only when chosen: the card's
 * library stays the default.
 */
export function rustBatchTokenize(tokenizerJson: object): BatchTokenize {
  const { Tokenizer } = createRequire(import.meta.url)('tokenizers') as typeof import('tokenizers');
  const tokenizer = Tokenizer.fromString(JSON.stringify(tokenizerJson));
  // Truncation and padding are ours (TokenEncoder); a tokenizer.json may carry its own.
  tokenizer.disableTruncation();
  tokenizer.disablePadding();
  return async (texts) => (await tokenizer.encodeBatch(texts, { addSpecialTokens: false })).map((e) => e.getIds());
}
