import type { FastifyInstance } from 'fastify';
import type { Lifecycle } from '../../core/lifecycle.js';
import { preference } from '../../postprocess/postprocess.js';
import { clientAbortSignal } from '../client-abort.js';
import { parseBody, type CompareRequest, type RequestSchemas } from '../schemas.js';

type Pair = CompareRequest['pairs'][number];

const sides = (p: Pair): [string, string] => ('a' in p ? [p.a, p.b] : [p.chosen, p.rejected]);

/** POST /compare: P(a ≻ b) = σ((r_a − r_b)/T) per pair; each distinct (prompt, response) is scored once. */
export async function compareRoute(app: FastifyInstance, opts: { lifecycle: Lifecycle; schemas: RequestSchemas }) {
  app.post('/compare', async (request, reply) => {
    const runtime = opts.lifecycle.acceptWork();
    const body = parseBody(opts.schemas.compare, request.body);
    request.items = body.pairs.length;
    const slots = new Map<string, number>();
    const items: { prompt: string; response: string }[] = [];
    const slot = (prompt: string, response: string) => {
      const key = JSON.stringify([prompt, response]);
      let i = slots.get(key);
      if (i === undefined) {
        i = items.push({ prompt, response }) - 1;
        slots.set(key, i);
      }
      return i;
    };
    const refs = body.pairs.map((p) => sides(p).map((r) => slot(p.prompt, r)) as [number, number]);
    const r = await runtime.scorer.score(items, { truncation: body.truncation, signal: clientAbortSignal(reply, body.timeout_ms) });
    const t = runtime.folder.reward.temperature;
    return {
      model: runtime.folder.name,
      pairs: refs.map(([a, b]) => ({
        reward_a: r.rewards[a]!,
        reward_b: r.rewards[b]!,
        margin: r.rewards[a]! - r.rewards[b]!,
        p_a_over_b: preference(r.rewards[a]!, r.rewards[b]!, t),
        truncated: r.truncated[a]! || r.truncated[b]!,
      })),
      usage: { tokens: r.tokens, scored_items: items.length },
    };
  });
}
