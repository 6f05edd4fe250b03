import type { FastifyInstance } from 'fastify';
import { classify } from '../../core/operations/classify.js';
import { handle } from '../admit.js';
import type { RouteOptions } from './route-options.js';

/**
 * POST /classify (vLLM's pooling route, which verl's reward loop calls) and POST /v1/classify
 * (for clients that prefix /v1): see core/operations/classify.ts. `model` may be a checkpoint
 * path, resolved by its last segment; errors are in vLLM's shape.
 */
export async function classifyRoute(app: FastifyInstance, { lifecycle, schemas }: RouteOptions) {
  for (const url of ['/classify', '/v1/classify']) {
    app.post(url, { config: { errorDialect: 'vllm' } }, (request, reply) =>
      handle(
        lifecycle,
        request,
        reply,
        schemas.classify,
        (b) => ({ model: b.model ?? undefined, byPath: true, items: 'messages' in b ? 1 : typeof b.input === 'string' || typeof b.input[0] === 'number' ? 1 : b.input.length }),
        classify,
        (b) => b,
      ),
    );
  }
}
