import { agreement, bestFirst, firstChoice } from '../../postprocess/postprocess.js';
import { rewardExtras, targetOptions, type Message, type OperationContext, type OperationResult, type ScoringOptions } from './operation.js';

/** A /rank request: candidate responses (text, or a process reward model's steps) to one prompt (text, or a conversation). */
export type RankInput = ScoringOptions & { responses: (string | { steps: string[] })[] } & ({ prompt: string | Message[] } | { messages: Message[] });

/**
 * Candidate responses best first, with softmax(r/T), the Plackett–Luce probability that each is
 * chosen first (best-of-n sampling). On an ensemble the mean reward ranks, and `agreement` is the
 * share of members whose best response is the same.
 */
export async function rank({ target, signal }: OperationContext, input: RankInput): Promise<OperationResult> {
  const prompt = 'messages' in input ? input.messages : input.prompt;
  const r = await target.score(
    input.responses.map((response) => (typeof response === 'string' ? { prompt, response } : { prompt, steps: response.steps })),
    targetOptions(input, signal),
  );
  const order = bestFirst(r.rewards);
  const out: Record<string, unknown> = {
    model: r.model,
    rewards: r.rewards,
    order,
    probabilities: firstChoice(r.rewards, target.temperature),
    truncated: r.truncated,
    ...rewardExtras(r, input.normalize),
  };
  if (r.ensemble) out.agreement = agreement(Object.values(r.ensemble.members).map((m) => bestFirst(m)[0]), order[0]);
  out.usage = { tokens: r.tokens };
  return { body: out, timings: r.timings };
}
