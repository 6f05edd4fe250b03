import type { FastifyInstance } from 'fastify';
import { getReward } from '../../core/operations/get-reward.js';
import { handle } from '../admit.js';
import type { RouteOptions } from './route-options.js';

/**
 * POST /get_reward: a drop-in for OpenRLHF's remote reward model (`--remote_rm_url`). The model
 * is the body's or the URL's `?model=`, else the default; OpenRLHF's client cannot add body
 * fields, so `?normalize=true` matches its serve_rm `--normalize_reward`. Failures are 4xx/5xx
 * statuses, which that client retries.
 */
export async function getRewardRoute(app: FastifyInstance, { lifecycle, schemas }: RouteOptions) {
  app.post<{ Querystring: { model?: string; normalize?: string } }>('/get_reward', (request, reply) => {
    const { model, normalize } = request.query;
    const byUrl = typeof model === 'string' ? model : undefined;
    return handle(
      lifecycle,
      request,
      reply,
      schemas.getReward,
      (b) => ({ model: b.model ?? byUrl, items: b.query.length, timeoutMs: b.timeout_ms }),
      getReward,
      (b) => ({ query: b.query, normalize: normalize === 'true' || normalize === '1' }),
    );
  });
}
