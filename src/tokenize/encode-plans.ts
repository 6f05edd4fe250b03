import type { EncodedItem, EncodeFailure, EncodePlan } from './token-encoder.js';

/** Tokenizes texts (no special tokens added), all in one call: the ids of each, in order. */
export type BatchTokenize = (texts: string[]) => Promise<number[][]>;

/**
 * Runs encode plans in lockstep: each round, the next text of every unfinished plan goes to one
 * batch call, so a library that tokenizes a batch in parallel sees a whole request at once.
 */
export async function encodePlans(plans: EncodePlan[], tokenize: BatchTokenize): Promise<(EncodedItem | EncodeFailure)[]> {
  const results: (EncodedItem | EncodeFailure)[] = new Array(plans.length);
  let live = plans.map((plan, i) => ({ i, step: plan.next() }));
  while (live.length > 0) {
    const waiting = live.filter((x) => {
      if (x.step.done) results[x.i] = x.step.value;
      return !x.step.done;
    });
    if (waiting.length === 0) break;
    const ids = await tokenize(waiting.map((x) => x.step.value as string));
    live = waiting.map((x, k) => ({ i: x.i, step: plans[x.i]!.next(ids[k]!) }));
  }
  return results;
}
