import type { Socket } from 'node:net';
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

/** Status the server closed a socket with (a timeout, malformed HTTP), for its access-log line. */
const closedWith = new WeakMap<Socket, number>();

/** The status the server answered before closing `socket` itself; undefined if it did not. */
export function serverClosedStatus(socket: Socket | null | undefined): number | undefined {
  return socket ? closedWith.get(socket) : undefined;
}

/** Counts a request whose client left before its response (499); observability.ts calls it once per such request. */
export function countClientClosed(metrics: Metrics, model: string): void {
  metrics.failures.inc({ reason: 'client_closed', model });
}

/** Node's clientError codes and our code for each; anything else is malformed HTTP. */
const CLIENT_ERRORS: Record<string, ErrorCode> = {
  ERR_HTTP_REQUEST_TIMEOUT: 'request_timeout',
  HPE_HEADER_OVERFLOW: 'headers_too_large',
};

/**
 * Fastify's `clientErrorHandler` option: errors Node's HTTP parser raises on a socket (bad
 * chunked encoding, an invalid header, headers over the size limit, a request not received
 * within REQUEST_TIMEOUT_MS / HEADERS_TIMEOUT_MS) get our envelope, then the socket is closed.
 * No route is known yet, so no dialect applies. Counted here, once, by our code.
 */
export function clientErrorHandler(metrics: Metrics) {
  return function (this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
    // A reset socket has nothing left to answer (Node's own handler also stays silent).
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    // The client closed its side mid-request: it left. The request, if one had started, is
    // logged 499 when its socket closes (observability.ts).
    if (err.code === 'HPE_INVALID_EOF_STATE') {
      socket.destroy();
      return;
    }
    const code = CLIENT_ERRORS[err.code ?? ''] ?? 'bad_request';
    this.log.info({ code, err: err.code }, 'client error');
    closeWithError(socket, code, metrics);
  };
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large', 503: 'Service Unavailable' };

/**
 * Answers `code` in our envelope straight on the socket, unless a response of it has started,
 * then closes it; counted by code. For sockets the server gives up on outside a route's
 * lifecycle (malformed HTTP, a timeout, an upload cut by a shutdown).
 */
export function closeWithError(socket: Socket, code: ErrorCode, metrics: Metrics, message: string = ERROR_CODES[code].message): void {
  const { status } = ERROR_CODES[code];
  // Outside any route: no model was resolved.
  metrics.failures.inc({ reason: code, model: NO_MODEL });
  closedWith.set(socket, status);
  // As Node's own handler does: write only if no response of this socket has started.
  const res = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !res?.headersSent) {
    const body = JSON.stringify(envelope(code, message));
    socket.write(
      `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
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
    // A client that left is counted (and logged 499) once, when its socket closes (observability.ts).
    if (e.code !== 'client_closed') opts.metrics.failures.inc({ reason: e.code, model: request.model ?? NO_MODEL });
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
