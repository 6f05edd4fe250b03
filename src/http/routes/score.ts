import type { FastifyInstance } from 'fastify';
import { score } from '../../core/operations/score.js';
import { handle } from '../admit.js';
import type { RouteOptions } from './route-options.js';

/** POST /score: rewards of prompt/response, conversation or text items, in request order. */
export async function scoreRoute(app: FastifyInstance, { lifecycle, schemas }: RouteOptions) {
  app.post('/score', (request, reply) =>
    handle(lifecycle, request, reply, schemas.score, (b) => ({ model: b.model, items: b.items.length, timeoutMs: b.timeout_ms }), score, (b) => b),
  );
}
