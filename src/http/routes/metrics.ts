import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../metrics.js';

/** GET /metrics: the Prometheus text exposition of this instance's registry. */
export async function metricsRoute(app: FastifyInstance, opts: { metrics: Metrics }) {
  app.get('/metrics', async (_request, reply) => {
    void reply.type(opts.metrics.registry.contentType);
    return opts.metrics.registry.metrics();
  });
}
