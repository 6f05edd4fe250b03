import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/**
 * Headers for a JSON API that no browser should render, frame or cache (the page's routes
 * set a policy that lets it run; see routes/page.ts). Fastify sends no
 * `server` or `x-powered-by` banner, and we add none.
 */
const HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export const securityHeaders = fp(async (app: FastifyInstance) => {
  app.addHook('onSend', (request, reply, _payload, done) => {
    void reply.headers(HEADERS);
    // The page (routes/page.ts) runs its own scripts under a policy of its own.
    const csp = request.routeOptions.config?.csp;
    if (csp) void reply.header('content-security-policy', csp);
    done();
  });
});
