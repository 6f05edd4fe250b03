import type { InputFormat, OperationContext, OperationResult, RequestItem, TruncationMode } from './operation.js';

/** A /tokenize request: the items of a /score request. */
export interface TokenizeInput {
  items: RequestItem[];
  truncation: TruncationMode;
  format?: InputFormat | undefined;
}

/**
 * Per item, the text the model's format renders, its ids and token strings and whether it was
 * truncated: what /score would feed the model (TEI and vLLM have one too).
 */
export async function tokenize({ target }: OperationContext, input: TokenizeInput): Promise<OperationResult> {
  const items = await target.tokenize(input.items, { truncation: input.truncation, format: input.format });
  return {
    body: {
      model: target.name,
      items: items.map((it) => ({
        text: it.text,
        ...(it.textPair !== undefined && { text_pair: it.textPair }),
        ids: it.ids,
        tokens: it.tokens,
        truncated: it.truncated,
      })),
      usage: { tokens: items.reduce((a, it) => a + it.ids.length, 0) },
    },
  };
}
