import { ServiceError } from '../../errors.js';
import { sigmoid } from '../../postprocess/postprocess.js';
import { scoreTei, teiTruncation, type OperationContext, type OperationResult } from './operation.js';

/** A TEI-style rerank request, as on the wire. */
export interface RerankInput {
  query: string;
  texts: string[];
  raw_scores: boolean;
  return_text: boolean;
  truncate?: boolean | null | undefined;
  truncation_direction?: 'Left' | 'Right' | 'left' | 'right' | undefined;
}

/**
 * TEI's `/rerank` (router/src/http/types.rs RerankResponse): each text scored as the response
 * to `query`, best first; `score` is the reward (σ of it unless `raw_scores`), `text` only with
 * `return_text`.
 */
export async function rerank({ target, signal }: OperationContext, input: RerankInput): Promise<OperationResult> {
  if (input.texts.length === 0) throw new ServiceError('empty_input', '`texts` cannot be empty');
  const r = await scoreTei(target, input.texts.map((response) => ({ prompt: input.query, response })), teiTruncation(input), signal);
  const ranked = r.rewards
    .map((reward, index) => ({ index, score: input.raw_scores ? reward : sigmoid(reward), ...(input.return_text && { text: input.texts[index]! }) }))
    .sort((a, b) => b.score - a.score || a.index - b.index);
  return { body: ranked, timings: r.timings };
}
