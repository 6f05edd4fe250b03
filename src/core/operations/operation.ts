import type { InputFormat, Message, ScoreItem, TextPart } from '../../format/format.js';
import type { TruncationMode } from '../../tokenize/token-encoder.js';
import type { StageTimings } from '../scorer.js';
import type { RequestItem, Scored, ScoringTarget, StepsItem } from '../scoring-target.js';

export type { InputFormat, Message, RequestItem, ScoreItem, StepsItem, TextPart, TruncationMode };

/** What an operation answers: the reply body, and where its time went when it scored. */
export interface OperationResult<B = unknown> {
  body: B;
  timings?: StageTimings;
}

/** What every operation runs against: the resolved model or ensemble, and the request's abort signal. */
export interface OperationContext {
  target: ScoringTarget;
  signal?: AbortSignal;
}

/** Options every scoring endpoint accepts besides its items (field names as on the wire). */
export interface ScoringOptions {
  truncation: TruncationMode;
  format?: InputFormat | undefined;
  weights?: Readonly<Record<string, number>> | undefined;
  normalize: boolean;
  k?: number | undefined;
  return_token_rewards?: boolean | undefined;
}

/** The request's scoring options, and its signal, as a target takes them. */
export function targetOptions(o: ScoringOptions, signal: AbortSignal | undefined) {
  return { truncation: o.truncation, format: o.format, weights: o.weights, normalize: o.normalize, k: o.k, tokenRewards: o.return_token_rewards, signal };
}

/**
 * Optional reward fields of a reply: raw rewards when normalized, every head, ensemble spread,
 * a process reward model's step rewards (and the leading steps truncation dropped), token rewards.
 */
export function rewardExtras(s: Scored, normalized: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (normalized) out.raw_rewards = s.raw;
  if (s.heads) out.heads = s.heads;
  if (s.ensemble) out.ensemble = s.ensemble;
  if (s.steps) Object.assign(out, { step_rewards: s.steps.rewards, dropped_steps: s.steps.dropped });
  if (s.tokenRewards) out.token_rewards = s.tokenRewards;
  return out;
}
