import type { FastifyInstance } from 'fastify';
import type { Lifecycle } from '../../core/lifecycle.js';
import { clientAbortSignal } from '../client-abort.js';
import { parseBody, type RequestSchemas } from '../schemas.js';

/** POST /score: rewards of prompt/response or text items, in request order. */
export async function scoreRoute(app: FastifyInstance, opts: { lifecycle: Lifecycle; schemas: RequestSchemas }) {
  app.post('/score', async (request, reply) => {
    const runtime = opts.lifecycle.acceptWork();
    const body = parseBody(opts.schemas.score, request.body);
    request.items = body.items.length;
    const r = await runtime.scorer.score(body.items, { truncation: body.truncation, signal: clientAbortSignal(reply, body.timeout_ms) });
    return { model: runtime.folder.name, rewards: r.rewards, truncated: r.truncated, usage: { tokens: r.tokens } };
  });
}
