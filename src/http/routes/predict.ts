import type { FastifyInstance } from 'fastify';
import { predict } from '../../core/operations/predict.js';
import { handle } from '../admit.js';
import type { RouteOptions } from './route-options.js';

/** POST /predict: Text Embeddings Inference's classifier route (see core/operations/predict.ts); `?model=` picks a model; TEI's errors. */
export async function predictRoute(app: FastifyInstance, { lifecycle, schemas }: RouteOptions) {
  app.post<{ Querystring: { model?: string } }>('/predict', { config: { errorDialect: 'tei' } }, (request, reply) => {
    const { model } = request.query;
    return handle(
      lifecycle,
      request,
      reply,
      schemas.predict,
      (b) => ({ model: typeof model === 'string' ? model : undefined, items: Array.isArray(b.inputs) && Array.isArray(b.inputs[0]) ? b.inputs.length : 1 }),
      predict,
      (b) => b,
    );
  });
}
