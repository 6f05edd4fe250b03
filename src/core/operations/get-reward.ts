import type { OperationContext, OperationResult } from './operation.js';

/** OpenRLHF's remote reward model request: `query` is the full templated text. */
export interface GetRewardInput {
  query: string[];
  normalize: boolean;
}

/**
 * OpenRLHF's remote reward model: each query read as a `{text}` item; every list in the reply is
 * as long as `query`. `prompts` and `labels` are accepted by the route and not used.
 */
export async function getReward({ target, signal }: OperationContext, input: GetRewardInput): Promise<OperationResult> {
  const r = await target.score(
    input.query.map((text) => ({ text })),
    { truncation: 'auto', normalize: input.normalize, signal },
  );
  return { body: { rewards: r.rewards, scores: r.rewards, extra_logs: {} }, timings: r.timings };
}
