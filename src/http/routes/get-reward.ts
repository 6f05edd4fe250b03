import type { FastifyInstance } from 'fastify';
import type { Lifecycle } from '../../core/lifecycle.js';
import { clientAbortSignal } from '../client-abort.js';
import { parseBody, type RequestSchemas } from '../schemas.js';
import { timingHeaders } from '../scored-reply.js';

/**
 * POST /get_reward: a drop-in for OpenRLHF's remote reward model (`--remote_rm_url`). Each query
 * is the full templated text; `prompts` and `labels` are accepted and not used. Every list in
 * the reply is as long as `query`. The model is the body's or the URL's `?model=`, else the
 * default; `?normalize=true` normalizes. Failures are 4xx/5xx statuses, which that client retries.
 */
export async function getRewardRoute(app: FastifyInstance, opts: { lifecycle: Lifecycle; schemas: RequestSchemas }) {
  app.post<{ Querystring: { model?: string; normalize?: string } }>('/get_reward', async (request, reply) => {
    opts.lifecycle.acceptWork();
    const body = parseBody(opts.schemas.getReward, request.body);
    const named = body.model ?? (typeof request.query.model === 'string' ? request.query.model : undefined);
    const target = opts.lifecycle.acceptWork(named);
    request.items = body.query.length;
    const items = body.query.map((text) => ({ text }));
    // OpenRLHF's client cannot add body fields; ?normalize=true matches its serve_rm --normalize_reward.
    const normalize = request.query.normalize === 'true' || request.query.normalize === '1';
    const r = await target.score(items, { truncation: 'auto', normalize, signal: clientAbortSignal(reply, body.timeout_ms) });
    timingHeaders(reply, r);
    return { rewards: r.rewards, scores: r.rewards, extra_logs: {} };
  });
}
