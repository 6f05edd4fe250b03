import type { InputFormat, Message, ScoreItem, TextPart } from '../../format/format.js';
import type { TruncationMode } from '../../tokenize/token-encoder.js';
import type { StageTimings } from '../scorer.js';
import type { Scored, ScoringTarget } from '../scoring-target.js';

export type { InputFormat, Message, ScoreItem, TextPart, TruncationMode };

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
}

/** The request's scoring options, and its signal, as a target takes them. */
export function targetOptions(o: ScoringOptions, signal: AbortSignal | undefined) {
  return { truncation: o.truncation, format: o.format, weights: o.weights, normalize: o.normalize, k: o.k, signal };
}

/** Optional reward fields of a reply: raw rewards when normalized, every head, ensemble spread. */
export function rewardExtras(s: Scored, normalized: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (normalized) out.raw_rewards = s.raw;
  if (s.heads) out.heads = s.heads;
  if (s.ensemble) out.ensemble = s.ensemble;
  return out;
}
