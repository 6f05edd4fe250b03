import type { FastifyInstance } from 'fastify';
import { compare } from '../../core/operations/compare.js';
import { handle } from '../admit.js';
import type { RouteOptions } from './route-options.js';

/** POST /compare: P(a ≻ b) per pair of responses (see core/operations/compare.ts). */
export async function compareRoute(app: FastifyInstance, { lifecycle, schemas }: RouteOptions) {
  app.post('/compare', (request, reply) =>
    handle(lifecycle, request, reply, schemas.compare, (b) => ({ model: b.model, items: b.pairs.length, timeoutMs: b.timeout_ms }), compare, (b) => b),
  );
}
