import type { FastifyInstance } from 'fastify';
import { slimeReward } from '../../core/operations/slime-reward.js';
import { handle } from '../admit.js';
import type { RouteOptions } from './route-options.js';

/**
 * POST /reward: slime's remote reward model (`--rm-type remote_rm --rm-url .../reward`); the
 * reply is the bare reward. `?model=` picks a model. Errors keep our envelope: slime retries
 * every failure alike.
 */
export async function slimeRewardRoute(app: FastifyInstance, { lifecycle, schemas }: RouteOptions) {
  app.post<{ Querystring: { model?: string } }>('/reward', (request, reply) => {
    const { model } = request.query;
    return handle(lifecycle, request, reply, schemas.slimeReward, () => ({ model: typeof model === 'string' ? model : undefined, items: 1 }), slimeReward, (b) => b);
  });
}
