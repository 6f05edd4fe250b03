import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Lifecycle } from '../core/lifecycle.js';
import type { OperationContext, OperationResult } from '../core/operations/operation.js';
import { clientAbortSignal } from './client-abort.js';
import { parseBody } from './schemas.js';
import { timingHeaders } from './timing-headers.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The model or ensemble the request resolved to: the `model` label of its metrics. */
    model?: string;
  }
}

/** What admission needs to know of a parsed body: the model it names, its size, its deadline. */
export interface Admission {
  model?: string | undefined;
  /** Also resolve a checkpoint path by its last segment (vLLM clients send the model's path). */
  byPath?: boolean;
  /** Items or pairs, for the access log. */
  items: number;
  timeoutMs?: number | undefined;
}

/**
 * Handles one request to an operation endpoint, the same way for every route: refuse new work
 * while starting or draining (before spending time on the body), validate the body, resolve the
 * model, count items for the access log, tie the work to the client's connection and deadline,
 * run the operation and send its body with the stage-timing headers.
 */
export async function handle<S extends z.ZodType, I>(
  lifecycle: Lifecycle,
  request: FastifyRequest,
  reply: FastifyReply,
  schema: S,
  admission: (body: z.infer<S>) => Admission,
  operation: (ctx: OperationContext, input: I) => Promise<OperationResult>,
  input: (body: z.infer<S>) => I,
): Promise<unknown> {
  lifecycle.acceptWork();
  const body = parseBody(schema, request.body);
  const a = admission(body);
  const target = lifecycle.acceptWork(a.model, { byPath: a.byPath ?? false });
  request.items = a.items;
  request.model = target.name;
  const result = await operation({ target, signal: clientAbortSignal(reply, a.timeoutMs) }, input(body));
  if (result.timings) timingHeaders(reply, result.timings);
  return result.body;
}
