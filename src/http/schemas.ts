import { z } from 'zod';
import { ServiceError } from '../errors.js';

/** Request limits from the config that the schemas enforce. */
export interface Limits {
  maxItemsPerRequest: number;
  maxCharsPerText: number;
  /** Cap on a request's timeout_ms; larger values are lowered to it. */
  maxTimeoutMs: number;
}

/** Request body schemas of every POST route, built for the configured limits. */
export function requestSchemas(limits: Limits) {
  const text = z.string().max(limits.maxCharsPerText);
  const truncation = z.enum(['auto', 'error']).default('auto');
  const timeout = z
    .number()
    .int()
    .min(1)
    .transform((ms) => Math.min(ms, limits.maxTimeoutMs))
    .optional();
  const item = z.union([z.strictObject({ prompt: text, response: text }), z.strictObject({ text })], {
    error: 'must be {"prompt", "response"} or {"text"}',
  });
  const pair = z.union(
    [z.strictObject({ prompt: text, a: text, b: text }), z.strictObject({ prompt: text, chosen: text, rejected: text })],
    { error: 'must be {"prompt", "a", "b"} or {"prompt", "chosen", "rejected"}' },
  );
  return {
    score: z.strictObject({ items: z.array(item).min(1).max(limits.maxItemsPerRequest), truncation, timeout_ms: timeout }),
    compare: z.strictObject({ pairs: z.array(pair).min(1).max(limits.maxItemsPerRequest), truncation, timeout_ms: timeout }),
  };
}

/** The schemas for one set of limits. */
export type RequestSchemas = ReturnType<typeof requestSchemas>;
export type ScoreRequest = z.infer<RequestSchemas['score']>;
export type CompareRequest = z.infer<RequestSchemas['compare']>;

type Issue = z.core.$ZodIssue;

/** For a failed union, the issues of the branch that came closest to matching. */
function closest(issue: Issue): Issue[] | null {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return null;
  const best = issue.errors.reduce((a, b) => (b.length < a.length ? b : a));
  return best.map((i) => ({ ...i, path: [...issue.path, ...i.path] }) as Issue);
}

const where = (path: PropertyKey[]) => (path.length ? path.map(String).join('.') : 'body');

/** Turns the first zod issue into a coded error naming the field (and the cap, if one was hit). */
function issueToError(issue: Issue): ServiceError {
  const inner = closest(issue);
  if (inner && inner.every((i) => i.code === 'too_big')) return issueToError(inner[0]!);
  if (issue.code === 'too_big' && issue.origin === 'string') {
    return new ServiceError('text_too_long', `${where(issue.path)} is longer than ${String(issue.maximum)} characters`);
  }
  if (issue.code === 'too_big' && issue.origin === 'array') {
    return new ServiceError('too_many_items', `${where(issue.path)} has more than ${String(issue.maximum)} entries`);
  }
  const detail = inner && inner.length > 0 ? ` (${where(inner[0]!.path)}: ${inner[0]!.message})` : '';
  return new ServiceError('invalid_request', `${where(issue.path)}: ${issue.message}${detail}`);
}

/**
 * Validates a request body.
 * @throws ServiceError 422 naming the first offending field.
 */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  throw issueToError(r.error.issues[0]!);
}
