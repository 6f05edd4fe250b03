import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Lifecycle } from '../../core/lifecycle.js';

/**
 * While draining, every response closes its connection: keep-alive sockets would otherwise
 * hold the server open until their idle timeout, long after the last answer was sent.
 */
export const drain = fp(async (app: FastifyInstance, opts: { lifecycle: Lifecycle }) => {
  app.addHook('onSend', (_request, reply, _payload, done) => {
    if (opts.lifecycle.phase === 'draining') void reply.header('connection', 'close');
    done();
  });
});
