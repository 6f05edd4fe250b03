import type { FastifyInstance } from 'fastify';
import { tokenize } from '../../core/operations/tokenize.js';
import { handle } from '../admit.js';
import type { RouteOptions } from './route-options.js';

/** POST /tokenize: what /score would feed the model, without scoring it (see core/operations/tokenize.ts). */
export async function tokenizeRoute(app: FastifyInstance, { lifecycle, schemas }: RouteOptions) {
  app.post('/tokenize', (request, reply) =>
    handle(lifecycle, request, reply, schemas.tokenize, (b) => ({ model: b.model, items: b.items.length }), tokenize, (b) => b),
  );
}
