import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { NO_MODEL, type Metrics } from '../../metrics.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Items or pairs in the request, for the access log. */
    items?: number;
  }
}

/**
 * One access-log line and one duration observation per request. Request bodies are never
 * logged: they hold user text.
 */
export const observability = fp(async (app: FastifyInstance, opts: { metrics: Metrics }) => {
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    void reply.header('x-total-time', reply.elapsedTime.toFixed(2));
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    opts.metrics.requestDuration.observe({ route, method: request.method, status: String(reply.statusCode), model: request.model ?? NO_MODEL }, seconds);
    request.log.info(
      { route, method: request.method, status: reply.statusCode, items: request.items, latency_ms: Math.round(reply.elapsedTime * 100) / 100 },
      'request',
    );
  });
});
