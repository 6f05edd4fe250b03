import type { FastifyInstance } from 'fastify';
import type { Lifecycle } from '../../core/lifecycle.js';
import { parseBody, type RequestSchemas } from '../schemas.js';

/**
 * POST /tokenize: per item, the text the model's template renders, its ids and token strings
 * and whether it was truncated; what /score would feed the model (TEI and vLLM have one too).
 */
export async function tokenizeRoute(app: FastifyInstance, opts: { lifecycle: Lifecycle; schemas: RequestSchemas }) {
  app.post('/tokenize', async (request) => {
    opts.lifecycle.acceptWork();
    const body = parseBody(opts.schemas.tokenize, request.body);
    const target = opts.lifecycle.acceptWork(body.model);
    request.items = body.items.length;
    const items = await target.tokenize(body.items, { truncation: body.truncation, format: body.format });
    return {
      model: target.name,
      items: items.map((it) => ({
        text: it.text,
        ...(it.textPair !== undefined && { text_pair: it.textPair }),
        ids: it.ids,
        tokens: it.tokens,
        truncated: it.truncated,
      })),
      usage: { tokens: items.reduce((a, it) => a + it.ids.length, 0) },
    };
  });
}
