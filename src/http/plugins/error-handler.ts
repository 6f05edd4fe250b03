import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ERROR_CODES, envelope, ServiceError, type ErrorCode } from '../../errors.js';
import { NO_MODEL, type Metrics } from '../../metrics.js';
import { dialectReply } from '../error-dialects.js';

/** Fastify's own error codes that reach us, and the code of ours each maps to. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_json',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
};

const STATE_CODES: ReadonlySet<ErrorCode> = new Set(['not_ready', 'shutting_down', 'server_busy', 'deadline_exceeded']);

/**
 * Maps any thrown value to one of our coded errors; unknown errors become internal_error.
 * @param bodyLimit the configured body limit, named in 413 messages
 */
export function toServiceError(err: unknown, bodyLimit: number): ServiceError {
  if (err instanceof ServiceError) return err;
  const fe = err as Partial<FastifyError>;
  const mapped = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped === 'payload_too_large') return new ServiceError(mapped, `Request body is larger than ${bodyLimit} bytes (MAX_BODY_BYTES)`);
  // secure-json-parse refuses prototype-poisoning keys with a SyntaxError that names them.
  if (/prototype|constructor/i.test(fe.message ?? '') && (mapped === 'invalid_json' || fe.statusCode === 400)) {
    return new ServiceError('invalid_json', 'Request body contains a forbidden key (__proto__ or constructor.prototype)');
  }
  if (mapped) return new ServiceError(mapped);
  if (err instanceof SyntaxError || fe.statusCode === 400) return new ServiceError('invalid_json');
  return new ServiceError('internal_error', undefined, { cause: err });
}

/**
 * Fastify's `frameworkErrors` option: errors raised before routing (a URL that cannot be
 * decoded) get our envelope too; such a URL names no route.
 */
export function frameworkErrors(_err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  void reply.code(ERROR_CODES.not_found.status).send(envelope('not_found', `No route ${request.method} (the URL cannot be decoded)`));
}

/**
 * The one place errors become HTTP responses: `{"error": {"code", "message"}}` with the status
 * from the table in errors.ts, or the route's error dialect (error-dialects.ts: vLLM's or TEI's
 * body and status for the same code), and the one place failures are counted, by our code
 * (`reward_failures_total{reason}`). Messages are ours, never a stack or an internal path.
 */
export const errorHandler = fp(async (app: FastifyInstance, opts: { bodyLimit: number; metrics: Metrics }) => {
  app.setErrorHandler((err, request, reply) => {
    const e = toServiceError(err, opts.bodyLimit);
    opts.metrics.failures.inc({ reason: e.code, model: request.model ?? NO_MODEL });
    // States the service reports on purpose (starting, draining, busy, a client's deadline) are
    // not faults: no stack trace, so readiness probes during a start do not flood the log.
    if (STATE_CODES.has(e.code)) request.log.info({ code: e.code }, 'request refused');
    else if (e.status >= 500) request.log.error({ err: e.cause ?? err, code: e.code }, 'request failed');
    if (e.retryAfter !== undefined) void reply.header('retry-after', String(e.retryAfter));
    // Errors raised before the handler (body parsing, auth hooks) still know their route.
    const { status, body } = dialectReply(request.routeOptions.config?.errorDialect, e);
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const code: ErrorCode = 'not_found';
    opts.metrics.failures.inc({ reason: code, model: NO_MODEL });
    return reply.code(ERROR_CODES[code].status).send(envelope(code, `No route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`));
  });
});
