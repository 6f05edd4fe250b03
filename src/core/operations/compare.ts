import { agreement, preference } from '../../postprocess/postprocess.js';
import { targetOptions, type Message, type OperationContext, type OperationResult, type ScoringOptions } from './operation.js';

type Prompt = string | Message[];

/** A /compare request: pairs of responses to one prompt each. */
export interface CompareInput extends ScoringOptions {
  pairs: ({ prompt: Prompt; a: string; b: string } | { prompt: Prompt; chosen: string; rejected: string })[];
}

const sides = (p: CompareInput['pairs'][number]): [string, string] => ('a' in p ? [p.a, p.b] : [p.chosen, p.rejected]);
const side = (margin: number) => Math.sign(margin);

/**
 * P(a ≻ b) = σ((r_a − r_b)/T) per pair; each distinct (prompt, response) is scored once. On an
 * ensemble the mean reward decides, and each pair reports the share of members that prefer the
 * same side.
 */
export async function compare({ target, signal }: OperationContext, input: CompareInput): Promise<OperationResult> {
  const slots = new Map<string, number>();
  const items: { prompt: Prompt; response: string }[] = [];
  const slot = (prompt: Prompt, response: string) => {
    const key = JSON.stringify([prompt, response]);
    let i = slots.get(key);
    if (i === undefined) {
      i = items.push({ prompt, response }) - 1;
      slots.set(key, i);
    }
    return i;
  };
  const refs = input.pairs.map((p) => sides(p).map((r) => slot(p.prompt, r)) as [number, number]);
  const r = await target.score(items, targetOptions(input, signal));
  const t = target.temperature;
  const members = r.ensemble ? Object.values(r.ensemble.members) : null;
  const pairs = refs.map(([a, b]) => {
    const margin = r.rewards[a]! - r.rewards[b]!;
    const out: Record<string, unknown> = {
      reward_a: r.rewards[a]!,
      reward_b: r.rewards[b]!,
      margin,
      p_a_over_b: preference(r.rewards[a]!, r.rewards[b]!, t),
      truncated: r.truncated[a]! || r.truncated[b]!,
    };
    if (r.steps) Object.assign(out, { step_rewards_a: r.steps.rewards[a], step_rewards_b: r.steps.rewards[b], dropped_steps_a: r.steps.dropped[a], dropped_steps_b: r.steps.dropped[b] });
    if (members) out.agreement = agreement(members.map((m) => side(m[a]! - m[b]!)), side(margin));
    return out;
  });
  return { body: { model: r.model, pairs, usage: { tokens: r.tokens, scored_items: items.length } }, timings: r.timings };
}
