import type { FastifyReply } from 'fastify';
import { ServiceError } from '../errors.js';
import { setDeadline } from '../util/deadline.js';

/**
 * A signal that aborts if the client goes away before its response is written, or when
 * `timeoutMs` passes first; then its reason is a ServiceError `deadline_exceeded`.
 */
export function clientAbortSignal(reply: FastifyReply, timeoutMs?: number): AbortSignal {
  const ac = new AbortController();
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => ac.abort(new ServiceError('deadline_exceeded', `timeout_ms (${timeoutMs} ms) passed before the items were scored`)), timeoutMs);
  if (timeoutMs !== undefined) setDeadline(ac.signal, performance.now() + timeoutMs);
  const done = () => clearTimeout(timer);
  reply.raw.once('finish', done);
  reply.raw.once('close', () => {
    done();
    if (!reply.raw.writableEnded) ac.abort();
  });
  return ac.signal;
}
