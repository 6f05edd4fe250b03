import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ERROR_CODES } from '../../errors.js';
import fp from 'fastify-plugin';
import { NO_MODEL, type Metrics } from '../../metrics.js';
import { countClientClosed, serverClosedStatus } from './error-handler.js';

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
  app.addHook('onSend', (request, reply, _payload, done) => {
    void reply.header('x-request-id', request.id);
    void reply.header('x-total-time', reply.elapsedTime.toFixed(2));
    done();
  });
  // A socket that closes before a response was sent: the client left (499, nginx's
  // convention), or the server closed it for a request timeout (that status). Neither reaches
  // onResponse reliably, so the access-log line and the duration are recorded here; a 499 is
  // also counted as client_closed here, the error handler leaves it alone.
  const recorded = new WeakSet<FastifyRequest>();
  app.addHook('onRequest', (request, reply, done) => {
    reply.raw.once('close', () => {
      if (reply.sent || recorded.has(request)) return;
      const status = serverClosedStatus(request.raw.socket) ?? ERROR_CODES.client_closed.status;
      if (status === ERROR_CODES.client_closed.status) countClientClosed(opts.metrics, request.model ?? NO_MODEL);
      record(request, status, reply.elapsedTime);
    });
    done();
  });
  const record = (request: FastifyRequest, status: number, ms: number) => {
    recorded.add(request);
    const route = request.routeOptions.url ?? 'unmatched';
    opts.metrics.requestDuration.observe({ route, method: request.method, status: String(status), model: request.model ?? NO_MODEL }, ms / 1000);
    request.log.info({ route, method: request.method, status, items: request.items, latency_ms: Math.round(ms * 100) / 100 }, 'request');
  };
  app.addHook('onResponse', (request, reply, done) => {
    // Once per request: an answer sent after its client left was already logged as 499.
    if (!recorded.has(request)) record(request, reply.statusCode, reply.elapsedTime);
    done();
  });
});
