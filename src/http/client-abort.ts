import type { FastifyReply } from 'fastify';

/** A signal that aborts if the client goes away before its response is written. */
export function clientAbortSignal(reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableEnded) ac.abort();
  });
  return ac.signal;
}
