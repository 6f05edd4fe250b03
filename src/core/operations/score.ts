import { rewardExtras, targetOptions, type OperationContext, type OperationResult, type RequestItem, type ScoringOptions } from './operation.js';

/** A /score request. */
export interface ScoreInput extends ScoringOptions {
  items: RequestItem[];
}

/** Rewards of prompt/response, conversation or text items, in request order. */
export async function score({ target, signal }: OperationContext, input: ScoreInput): Promise<OperationResult> {
  const r = await target.score(input.items, targetOptions(input, signal));
  return {
    body: { model: r.model, rewards: r.rewards, truncated: r.truncated, ...rewardExtras(r, input.normalize), usage: { tokens: r.tokens } },
    timings: r.timings,
  };
}
