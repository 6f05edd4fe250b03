import type { FastifyInstance } from 'fastify';
import { rerank } from '../../core/operations/rerank.js';
import { handle } from '../admit.js';
import type { RouteOptions } from './route-options.js';

/** POST /rerank: Text Embeddings Inference's rerank route (see core/operations/rerank.ts); `?model=` picks a model; TEI's errors. */
export async function rerankRoute(app: FastifyInstance, { lifecycle, schemas }: RouteOptions) {
  app.post<{ Querystring: { model?: string } }>('/rerank', { config: { errorDialect: 'tei' } }, (request, reply) => {
    const { model } = request.query;
    return handle(lifecycle, request, reply, schemas.rerank, (b) => ({ model: typeof model === 'string' ? model : undefined, items: b.texts.length }), rerank, (b) => b);
  });
}
