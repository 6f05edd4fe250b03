import type { Message, OperationContext, OperationResult } from './operation.js';

/** slime's remote reward model request (`label` is accepted by the route and not used). */
export interface SlimeRewardInput {
  prompt: string | Message[];
  response: string;
}

/**
 * slime's `remote_rm` (slime/rollout/rm_hub/__init__.py): the reply itself is the reward, a
 * bare JSON number, the raw reward of `{prompt, response}` in the model's input format.
 */
export async function slimeReward({ target, signal }: OperationContext, input: SlimeRewardInput): Promise<OperationResult<number>> {
  const r = await target.score([{ prompt: input.prompt, response: input.response }], { truncation: 'auto', signal });
  return { body: r.rewards[0]!, timings: r.timings };
}
