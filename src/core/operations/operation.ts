import { ServiceError } from '../../errors.js';
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

/**
 * Per item, the classes a classification protocol reports: a model's raw logits, every column,
 * with their id2label names; an ensemble is one class, its mean reward, with no label.
 */
export function classesOf(s: Scored): { logits: number[][]; labels: (string | null)[] } {
  if (s.logits && s.labels) return { logits: s.logits, labels: s.labels };
  return { logits: s.rewards.map((r) => [r]), labels: [null] };
}

/** TEI's `truncate` and `truncation_direction` ("Left" keeps the end of an item, as our truncation does). */
export interface TeiTruncation {
  truncate: boolean;
  direction: 'left' | 'right';
}

/** TEI's truncation options; an absent direction is "Left" (ours), not TEI's "Right" default. */
export function teiTruncation(b: { truncate?: boolean | null | undefined; truncation_direction?: string | undefined }): TeiTruncation {
  return { truncate: b.truncate ?? false, direction: b.truncation_direction?.toLowerCase() === 'right' ? 'right' : 'left' };
}

/**
 * Scores items under TEI's truncation options: `truncate: false` refuses over-long items, as
 * TEI does; "Left" is our truncation; "Right" is refused where it would cut, since cutting the
 * end of an item would cut the response a reward model reads.
 */
export async function scoreTei(target: ScoringTarget, items: ScoreItem[], t: TeiTruncation, signal: AbortSignal | undefined): Promise<Scored> {
  try {
    return await target.score(items, { truncation: t.truncate && t.direction === 'left' ? 'auto' : 'error', signal });
  } catch (err) {
    if (t.truncate && t.direction === 'right' && err instanceof ServiceError && (err.code === 'item_too_long' || err.code === 'response_too_long')) {
      throw new ServiceError(err.code, `${err.message}; truncation_direction "Right" would cut the end of the item, the response a reward model reads: send "Left" (drops the oldest prompt tokens)`);
    }
    throw err;
  }
}
