import type { FastifyInstance } from 'fastify';
import type { Lifecycle } from '../../../core/lifecycle.js';

/** GET /health/live (the process answers) and GET /health/ready (model loaded, warmed up, not draining, workers up). */
export async function healthRoutes(app: FastifyInstance, opts: { lifecycle: Lifecycle }) {
  app.get('/health/live', async () => ({ status: 'live' }));
  app.get('/health/ready', async () => {
    opts.lifecycle.checkReady();
    return { status: 'ready' };
  });
}
