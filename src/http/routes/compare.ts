import type { FastifyInstance } from 'fastify';
import type { Lifecycle } from '../../core/lifecycle.js';
import type { Message } from '../../format/format.js';
import { agreement, preference } from '../../postprocess/postprocess.js';
import { clientAbortSignal } from '../client-abort.js';
import { parseBody, targetOptions, type CompareRequest, type RequestSchemas } from '../schemas.js';
import { timingHeaders } from '../scored-reply.js';

type Pair = CompareRequest['pairs'][number];

const sides = (p: Pair): [string, string] => ('a' in p ? [p.a, p.b] : [p.chosen, p.rejected]);
const side = (margin: number) => Math.sign(margin);

/**
 * POST /compare: P(a ≻ b) = σ((r_a − r_b)/T) per pair; each distinct (prompt, response) is
 * scored once. On an ensemble the mean reward decides, and each pair reports the share of
 * members that prefer the same side.
 */
export async function compareRoute(app: FastifyInstance, opts: { lifecycle: Lifecycle; schemas: RequestSchemas }) {
  app.post('/compare', async (request, reply) => {
    opts.lifecycle.acceptWork();
    const body = parseBody(opts.schemas.compare, request.body);
    const target = opts.lifecycle.acceptWork(body.model);
    request.items = body.pairs.length;
    const slots = new Map<string, number>();
    const items: { prompt: string | Message[]; response: string }[] = [];
    const slot = (prompt: string | Message[], response: string) => {
      const key = JSON.stringify([prompt, response]);
      let i = slots.get(key);
      if (i === undefined) {
        i = items.push({ prompt, response }) - 1;
        slots.set(key, i);
      }
      return i;
    };
    const refs = body.pairs.map((p) => sides(p).map((r) => slot(p.prompt, r)) as [number, number]);
    const r = await target.score(items, { ...targetOptions(body), signal: clientAbortSignal(reply, body.timeout_ms) });
    timingHeaders(reply, r);
    const t = target.temperature;
    const members = r.ensemble ? Object.values(r.ensemble.members) : null;
    return {
      model: r.model,
      pairs: refs.map(([a, b]) => {
        const margin = r.rewards[a]! - r.rewards[b]!;
        const out: Record<string, unknown> = {
          reward_a: r.rewards[a]!,
          reward_b: r.rewards[b]!,
          margin,
          p_a_over_b: preference(r.rewards[a]!, r.rewards[b]!, t),
          truncated: r.truncated[a]! || r.truncated[b]!,
        };
        if (members) out.agreement = agreement(members.map((m) => side(m[a]! - m[b]!)), side(margin));
        return out;
      }),
      usage: { tokens: r.tokens, scored_items: items.length },
    };
  });
}
