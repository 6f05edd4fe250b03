import type { FastifyInstance } from 'fastify';
import type { Lifecycle } from '../../core/lifecycle.js';
import type { ScoreItem } from '../../format/format.js';
import { agreement, bestFirst, firstChoice } from '../../postprocess/postprocess.js';
import { clientAbortSignal } from '../client-abort.js';
import { parseBody, targetOptions, type RankRequest, type RequestSchemas } from '../schemas.js';
import { rewardExtras, timingHeaders } from '../scored-reply.js';

const promptOf = (body: RankRequest) => ('messages' in body ? body.messages : body.prompt);

/**
 * POST /rank: candidate responses to one prompt, best first, with softmax(r/T), the
 * Plackett–Luce probability that each is chosen first (best-of-n sampling). On an ensemble the
 * mean reward ranks, and `agreement` is the share of members whose best response is the same.
 */
export async function rankRoute(app: FastifyInstance, opts: { lifecycle: Lifecycle; schemas: RequestSchemas }) {
  app.post('/rank', async (request, reply) => {
    opts.lifecycle.acceptWork();
    const body = parseBody(opts.schemas.rank, request.body);
    const target = opts.lifecycle.acceptWork(body.model);
    request.items = body.responses.length;
    const prompt = promptOf(body);
    const items: ScoreItem[] = body.responses.map((response) => ({ prompt, response }));
    const r = await target.score(items, { ...targetOptions(body), signal: clientAbortSignal(reply, body.timeout_ms) });
    timingHeaders(reply, r);
    const order = bestFirst(r.rewards);
    const out: Record<string, unknown> = {
      model: r.model,
      rewards: r.rewards,
      order,
      probabilities: firstChoice(r.rewards, target.temperature),
      truncated: r.truncated,
      ...rewardExtras(r, body.normalize),
    };
    if (r.ensemble) out.agreement = agreement(Object.values(r.ensemble.members).map((m) => bestFirst(m)[0]), order[0]);
    out.usage = { tokens: r.tokens };
    return out;
  });
}
