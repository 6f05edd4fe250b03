import type { FastifyReply } from 'fastify';
import type { Scored } from '../core/scoring-target.js';

const ms = (x: number) => x.toFixed(2);

/**
 * Per-response stage timings in ms, as Text Embeddings Inference sends them (x-total-time and
 * x-request-id are added for every response by the observability plugin).
 */
export function timingHeaders(reply: FastifyReply, s: Scored): void {
  void reply.header('x-tokenization-time', ms(s.timings.tokenizeMs));
  void reply.header('x-queue-time', ms(s.timings.queueMs));
  void reply.header('x-inference-time', ms(s.timings.inferenceMs));
}

/** Optional reward fields of a reply: raw rewards when normalized, every head, ensemble spread. */
export function rewardExtras(s: Scored, normalized: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (normalized) out.raw_rewards = s.raw;
  if (s.heads) out.heads = s.heads;
  if (s.ensemble) out.ensemble = s.ensemble;
  return out;
}
