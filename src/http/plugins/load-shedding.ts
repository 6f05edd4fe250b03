import underPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ServiceError } from '../../errors.js';

/** Routes that answer even when the event loop is saturated: liveness and the metrics scrape. */
const EXEMPT = new Set(['/health/live', '/metrics']);

/**
 * Answers 503 `server_busy` at once while the event loop is saturated (mean delay over a 1 s
 * sample above `maxEventLoopDelayMs`), instead of letting every request time out. Readiness
 * is not exempt: a saturated instance should leave the load balancer's rotation.
 */
export const loadShedding = fp(async (app: FastifyInstance, opts: { maxEventLoopDelayMs: number }) => {
  if (opts.maxEventLoopDelayMs === 0) return;
  await app.register(underPressure, {
    maxEventLoopDelay: opts.maxEventLoopDelayMs,
    pressureHandler: async (request, _reply, _type, value) => {
      if (EXEMPT.has(request.routeOptions.url ?? '')) return;
      const ms = Math.round(value ?? 0);
      throw new ServiceError('server_busy', `The event loop is saturated (mean delay ${ms} ms); retry later`, { retryAfter: 1 });
    },
  });
});
