import type { FastifyInstance } from 'fastify';
import { rank } from '../../core/operations/rank.js';
import { handle } from '../admit.js';
import type { RouteOptions } from './route-options.js';

/** POST /rank: candidate responses best first (see core/operations/rank.ts). */
export async function rankRoute(app: FastifyInstance, { lifecycle, schemas }: RouteOptions) {
  app.post('/rank', (request, reply) =>
    handle(lifecycle, request, reply, schemas.rank, (b) => ({ model: b.model, items: b.responses.length, timeoutMs: b.timeout_ms }), rank, (b) => b),
  );
}
