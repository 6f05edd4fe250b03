import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Lifecycle } from '../../core/lifecycle.js';
import { ServiceError } from '../../errors.js';
import type { Metrics } from '../../metrics.js';
import { closeWithError } from './error-handler.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Requests whose body has been received and whose response is not yet written. */
    acceptedInFlight(): number;
    /** Closes, with 503 shutting_down, the sockets whose request body is still arriving; returns how many. */
    closeUnfinishedUploads(): number;
  }
}

/** What the connections plugin needs. */
export interface ConnectionsOptions {
  /** Open client connections allowed (MAX_CONNECTIONS); Node closes any past it at once. */
  maxConnections: number;
  /** HEADERS_TIMEOUT_MS: also the time a new connection has to send its first request. */
  headersTimeoutMs: number;
  /** MAX_CONNECTION_AGE_MS: past it (±10%), a response closes its keep-alive connection; 0 = never. */
  maxConnectionAgeMs: number;
  lifecycle: Lifecycle;
  metrics: Metrics;
}

/** At most one log line per reason in this many ms: a flood must not flood the log too. */
const LOG_EVERY_MS = 10_000;

const hasBody = (request: FastifyRequest): boolean =>
  request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;

/**
 * Connection hygiene: the connection cap, socket errors that must not end the process, and
 * what a shutdown does with uploads still arriving.
 *
 * - A connection that sends no request within HEADERS_TIMEOUT_MS is closed
 *   (reward_connections_refused_total{reason="no_request"}).
 * - Past MAX_CONNECTIONS, Node closes a new connection before reading it (server.maxConnections,
 *   its 'drop' event); counted in reward_connections_refused_total{reason="max_connections"}.
 * - An accept error (EMFILE, ENFILE: out of descriptors) is an 'error' event on the server,
 *   which with no listener would end the process; libuv has already closed the pending
 *   connection, so it is counted and logged, and the server keeps listening.
 * - A connection older than MAX_CONNECTION_AGE_MS (each drawn ±10%, so connections opened together
 *   do not all reconnect together) gets `Connection: close` on its next response and is closed
 *   once that response is written: between requests, so nothing in flight is cut, and clients
 *   reconnect through the load balancer to whichever replica it picks
 *   (reward_connections_recycled_total).
 * - While draining, a request that starts sending a body is refused at once, and uploads that
 *   were still arriving when draining began are cut (closeUnfinishedUploads): they are not
 *   accepted work, and must not hold the shutdown.
 */
export const connections = fp(async (app: FastifyInstance, opts: ConnectionsOptions) => {
  const { metrics } = opts;
  const lastLog = new Map<string, number>();
  const refused = (reason: string, detail: Record<string, unknown>) => {
    metrics.connectionsRefused.inc({ reason });
    const now = Date.now();
    if (now - (lastLog.get(reason) ?? -Infinity) < LOG_EVERY_MS) return;
    lastLog.set(reason, now);
    app.log.warn({ reason, ...detail }, 'connection refused (logged at most once per 10 s)');
  };
  app.server.maxConnections = opts.maxConnections;
  app.server.on('drop', () => refused('max_connections', { max_connections: opts.maxConnections }));
  // Node's header timeout starts at a request's first byte, so a connection that never sends
  // one would hold its slot (and a descriptor) forever: a flood of them would fill
  // MAX_CONNECTIONS. Each connection must deliver its first request within HEADERS_TIMEOUT_MS.
  const gotRequest = new WeakSet<Socket>();
  app.server.on('request', (req: { socket: Socket }) => gotRequest.add(req.socket));
  const closeAt = new WeakMap<Socket, number>();
  app.server.on('connection', (socket: Socket) => {
    if (opts.maxConnectionAgeMs > 0) closeAt.set(socket, Date.now() + opts.maxConnectionAgeMs * (0.9 + 0.2 * Math.random()));
    const timer = setTimeout(() => {
      if (gotRequest.has(socket) || socket.destroyed) return;
      metrics.connectionsRefused.inc({ reason: 'no_request' });
      socket.destroy();
    }, opts.headersTimeoutMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  });
  app.server.on('error', (err: NodeJS.ErrnoException) => {
    // Errors of listen() itself (EADDRINUSE) are Fastify's to report.
    if (!app.server.listening) return;
    refused('accept_error', { code: err.code, syscall: err.syscall });
  });

  // Requests whose body is still arriving, and requests accepted (body in) and not yet answered.
  const uploading = new Map<FastifyRequest, Socket>();
  const accepted = new Set<FastifyRequest>();
  app.addHook('onRequest', (request, reply, done) => {
    if (opts.lifecycle.phase === 'draining' && hasBody(request)) throw new ServiceError('shutting_down');
    uploading.set(request, request.raw.socket);
    reply.raw.once('close', () => {
      uploading.delete(request);
      accepted.delete(request);
    });
    done();
  });
  app.addHook('preValidation', (request, reply, done) => {
    uploading.delete(request);
    if (!reply.raw.closed) accepted.add(request);
    done();
  });
  if (opts.maxConnectionAgeMs > 0) {
    app.addHook('onSend', (request, reply, payload, done) => {
      const at = closeAt.get(request.raw.socket);
      if (at !== undefined && Date.now() >= at && !reply.raw.headersSent) {
        reply.header('connection', 'close');
        closeAt.delete(request.raw.socket);
        metrics.connectionsRecycled.inc();
      }
      done(null, payload);
    });
  }
  app.decorate('acceptedInFlight', () => accepted.size);
  app.decorate('closeUnfinishedUploads', () => {
    const sockets = [...uploading.values()];
    uploading.clear();
    for (const s of sockets) closeWithError(s, 'shutting_down', metrics, 'The server is shutting down; this request body had not arrived yet');
    return sockets.length;
  });
});

