import type { FastifyInstance } from 'fastify';
import type { Lifecycle } from '../../../core/lifecycle.js';
import { ServiceError } from '../../../errors.js';

/**
 * GET /v1/stats?model=…: the over-optimization watch's window figures of a model or ensemble
 * (the default one without `model`), for dashboards that do not run Prometheus.
 */
export async function statsRoute(app: FastifyInstance, opts: { lifecycle: Lifecycle }) {
  app.get('/v1/stats', async (request) => {
    const models = opts.lifecycle.models;
    if (!models) throw new ServiceError('not_ready');
    const { model } = request.query as { model?: unknown };
    if (model !== undefined && typeof model !== 'string') throw new ServiceError('invalid_request', 'model: give one model or ensemble name');
    return models.watch(model).stats();
  });
}
