import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ServiceError } from '../../errors.js';

/** Routes that answer even when the event loop is saturated: liveness and the metrics scrape. */
const EXEMPT = new Set(['/health/live', '/metrics']);

/** Sampling resolution of the delay histogram, in ms; subtracted from its mean. */
const RESOLUTION_MS = 10;
/** Length of one sample, in ms. */
const SAMPLE_MS = 1000;

/**
 * Answers 503 `server_busy` at once while the event loop is saturated (mean delay over a 1 s
 * sample above `maxEventLoopDelayMs`), instead of letting every request time out. Readiness
 * is not exempt: a saturated instance should leave the load balancer's rotation.
 *
 * Our own monitor rather than @fastify/under-pressure: that one also reads
 * process.memoryUsage() on every sample, which opens /proc/self/status and throws EMFILE out of
 * a timer when descriptors run out, ending the process. This one opens nothing.
 */
export const loadShedding = fp(async (app: FastifyInstance, opts: { maxEventLoopDelayMs: number }) => {
  if (opts.maxEventLoopDelayMs === 0) return;
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  let delayMs = 0;
  const timer = setInterval(() => {
    const mean = histogram.mean / 1e6 - RESOLUTION_MS;
    delayMs = Number.isNaN(mean) ? 0 : Math.max(0, mean);
    histogram.reset();
  }, SAMPLE_MS);
  timer.unref();
  // The name @fastify/under-pressure used, for callers that ask the app directly.
  app.decorate('isUnderPressure', () => delayMs > opts.maxEventLoopDelayMs);
  app.addHook('onClose', async () => {
    clearInterval(timer);
    histogram.disable();
  });
  app.addHook('onRequest', (request, _reply, done) => {
    if (delayMs > opts.maxEventLoopDelayMs && !EXEMPT.has(request.routeOptions.url ?? '')) {
      throw new ServiceError('server_busy', `The event loop is saturated (mean delay ${Math.round(delayMs)} ms); retry later`, { retryAfter: 1 });
    }
    done();
  });
});
