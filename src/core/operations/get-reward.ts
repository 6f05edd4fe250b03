import type { OperationContext, OperationResult } from './operation.js';

/** OpenRLHF's remote reward model request: `query` is the full templated text. */
export interface GetRewardInput {
  query: string[];
  normalize: boolean;
}

/**
 * OpenRLHF's remote reward model: each query read as a `{text}` item; every list in the reply is
 * as long as `query`. `prompts` and `labels` are accepted by the route and not used. A process
 * reward model's queries carry their step tags; its step rewards come as `step_rewards`.
 */
export async function getReward({ target, signal }: OperationContext, input: GetRewardInput): Promise<OperationResult> {
  const r = await target.score(
    input.query.map((text) => ({ text })),
    { truncation: 'auto', normalize: input.normalize, signal },
  );
  // A process reward model's steps go beside the combined reward; OpenRLHF reads only rewards/scores.
  const steps = r.steps && { step_rewards: r.steps.rewards, dropped_steps: r.steps.dropped };
  return { body: { rewards: r.rewards, scores: r.rewards, ...steps, extra_logs: {} }, timings: r.timings };
}
