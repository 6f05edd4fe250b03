import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ServiceError } from '../../errors.js';

/** Whether `v` holds a number that is NaN or ±Infinity anywhere (JSON would send it as null). */
export function hasNonFinite(v: unknown): boolean {
  if (typeof v === 'number') return !Number.isFinite(v);
  if (Array.isArray(v)) return v.some(hasNonFinite);
  if (v !== null && typeof v === 'object') return Object.values(v).some(hasNonFinite);
  return false;
}

/**
 * A successful reply never carries a reward that is not a finite number: JSON.stringify would
 * send NaN or Infinity as `null`, which a client reads as a reward. Such a reply becomes 500
 * inference_failed instead. Checked on every JSON reply body before it is serialized, so no
 * route can forget it.
 */
export const finiteReplies = fp(async (app: FastifyInstance) => {
  app.addHook('preSerialization', (_request, reply, payload, done) => {
    if (reply.statusCode < 400 && hasNonFinite(payload)) {
      throw new ServiceError('inference_failed', 'The model produced a score that is not a finite number (NaN or ±Infinity)');
    }
    done(null, payload);
  });
});
