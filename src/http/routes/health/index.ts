import type { FastifyInstance } from 'fastify';
import type { Lifecycle } from '../../../core/lifecycle.js';
import { ServiceError } from '../../../errors.js';

/** GET /health/live (the process answers) and GET /health/ready (model loaded, warmed up, not draining). */
export async function healthRoutes(app: FastifyInstance, opts: { lifecycle: Lifecycle }) {
  app.get('/health/live', async () => ({ status: 'live' }));
  app.get('/health/ready', async () => {
    const phase = opts.lifecycle.phase;
    if (phase === 'draining') throw new ServiceError('shutting_down');
    if (phase !== 'ready') throw new ServiceError('not_ready');
    return { status: 'ready' };
  });
}
