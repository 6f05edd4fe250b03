import type { FastifyReply } from 'fastify';
import type { StageTimings } from '../core/scorer.js';

const ms = (x: number) => x.toFixed(2);

/**
 * Per-response stage timings in ms, as Text Embeddings Inference sends them (x-total-time and
 * x-request-id are added for every response by the observability plugin).
 */
export function timingHeaders(reply: FastifyReply, t: StageTimings): void {
  void reply.header('x-tokenization-time', ms(t.tokenizeMs));
  void reply.header('x-queue-time', ms(t.queueMs));
  void reply.header('x-inference-time', ms(t.inferenceMs));
}
