import type { FastifyInstance } from 'fastify';
import type { Lifecycle } from '../../core/lifecycle.js';
import { clientAbortSignal } from '../client-abort.js';
import { parseBody, targetOptions, type RequestSchemas } from '../schemas.js';
import { rewardExtras, timingHeaders } from '../scored-reply.js';

/** POST /score: rewards of prompt/response, conversation or text items, in request order. */
export async function scoreRoute(app: FastifyInstance, opts: { lifecycle: Lifecycle; schemas: RequestSchemas }) {
  app.post('/score', async (request, reply) => {
    opts.lifecycle.acceptWork();
    const body = parseBody(opts.schemas.score, request.body);
    const target = opts.lifecycle.acceptWork(body.model);
    request.items = body.items.length;
    const r = await target.score(body.items, { ...targetOptions(body), signal: clientAbortSignal(reply, body.timeout_ms) });
    timingHeaders(reply, r);
    return { model: r.model, rewards: r.rewards, truncated: r.truncated, ...rewardExtras(r, body.normalize), usage: { tokens: r.tokens } };
  });
}
