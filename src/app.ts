import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { splitList, type Config } from './config.js';
import type { Lifecycle } from './core/lifecycle.js';
import { auth, loadApiKeys } from './http/plugins/auth.js';
import { connections } from './http/plugins/connections.js';
import { drain } from './http/plugins/drain.js';
import { clientErrorHandler, errorHandler, frameworkErrors } from './http/plugins/error-handler.js';
import { finiteReplies } from './http/plugins/finite-replies.js';
import { jsonBody } from './http/plugins/json-body.js';
import { loadShedding } from './http/plugins/load-shedding.js';
import { observability } from './http/plugins/observability.js';
import { securityHeaders } from './http/plugins/security-headers.js';
import { classifyRoute } from './http/routes/classify.js';
import { compareRoute } from './http/routes/compare.js';
import { getRewardRoute } from './http/routes/get-reward.js';
import { healthRoutes } from './http/routes/health/index.js';
import { metricsRoute } from './http/routes/metrics.js';
import { openapiRoute } from './http/routes/openapi.js';
import { pageRoutes } from './http/routes/page.js';
import { predictRoute } from './http/routes/predict.js';
import { rankRoute } from './http/routes/rank.js';
import { rerankRoute } from './http/routes/rerank.js';
import { scoreRoute } from './http/routes/score.js';
import { slimeRewardRoute } from './http/routes/slime-reward.js';
import { tokenizeRoute } from './http/routes/tokenize.js';
import { modelsRoute } from './http/routes/v1/models.js';
import { statsRoute } from './http/routes/v1/stats.js';
import { requestSchemas } from './http/schemas.js';

/** What the app is built from; the process (server.ts) or a test owns each part. */
export interface AppOptions {
  config: Config;
  lifecycle: Lifecycle;
  /** pino logger; omitted in tests that want silence. */
  logger?: Logger;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * How often Node looks for requests past their timeouts: every second, or a quarter of the
 * shortest timeout when that is less (Node's default, 30 s, would let a 1 s timeout run 30 s).
 */
const checkingInterval = (c: Pick<Config, 'requestTimeoutMs' | 'headersTimeoutMs'>): number =>
  Math.max(25, Math.min(1000, Math.floor(Math.min(c.requestTimeoutMs, c.headersTimeoutMs) / 4)));

/** Builds the HTTP app: plugins for cross-cutting concerns, then one plugin per route file. */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { config, lifecycle } = opts;
  const app = Fastify({
    loggerInstance: opts.logger,
    // observability.ts writes the one access-log line per request instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.maxBodyBytes,
    // Slow clients must not hold sockets: the whole request, its headers, and an idle
    // keep-alive socket each have a deadline. Node checks them every connectionsCheckingInterval.
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    http: {
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: config.headersTimeoutMs,
      connectionsCheckingInterval: checkingInterval(config),
    },
    clientErrorHandler: clientErrorHandler(lifecycle.metrics),
    // Keep-alive sockets that sit idle must not hold a graceful shutdown open.
    forceCloseConnections: 'idle',
    // Reuse a caller's id when it is sane, so one id follows a request across services.
    genReqId: (req) => {
      const h = req.headers['x-request-id'];
      return typeof h === 'string' && REQUEST_ID.test(h) ? h : randomUUID();
    },
    frameworkErrors,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  }) as unknown as FastifyInstance;
  // Bodies are JSON only: anything else is a 415, not a string that fails validation.
  app.removeContentTypeParser('text/plain');
  await app.register(jsonBody, { maxDepth: config.maxJsonDepth, maxValues: config.maxJsonValues, maxKeys: config.maxJsonKeys });
  const schemas = requestSchemas(config);
  await app.register(errorHandler, { bodyLimit: config.maxBodyBytes, metrics: lifecycle.metrics });
  await app.register(observability, { metrics: lifecycle.metrics });
  await app.register(drain, { lifecycle });
  await app.register(connections, {
    maxConnections: config.maxConnections,
    headersTimeoutMs: config.headersTimeoutMs,
    maxConnectionAgeMs: config.maxConnectionAgeMs,
    lifecycle,
    metrics: lifecycle.metrics,
  });
  await app.register(finiteReplies);
  await app.register(securityHeaders);
  const origins = splitList(config.corsOrigins);
  if (origins.length > 0) {
    await app.register(cors, {
      origin: origins,
      methods: ['GET', 'POST'],
      allowedHeaders: ['content-type', 'authorization', 'x-request-id'],
      exposedHeaders: ['x-request-id', 'retry-after'],
      maxAge: 600,
    });
  }
  await app.register(loadShedding, { maxEventLoopDelayMs: config.maxEventLoopDelayMs });
  const keys = loadApiKeys(config);
  await app.register(auth, { keys, health: config.authHealth, metrics: config.authMetrics });
  await app.register(healthRoutes, { lifecycle });
  await app.register(metricsRoute, { metrics: lifecycle.metrics });
  await app.register(openapiRoute);
  await app.register(modelsRoute, { lifecycle, config });
  await app.register(scoreRoute, { lifecycle, schemas });
  await app.register(compareRoute, { lifecycle, schemas });
  await app.register(rankRoute, { lifecycle, schemas });
  await app.register(getRewardRoute, { lifecycle, schemas });
  await app.register(tokenizeRoute, { lifecycle, schemas });
  // Other frameworks' reward clients, each on its own route with its own wire format.
  await app.register(classifyRoute, { lifecycle, schemas });
  await app.register(predictRoute, { lifecycle, schemas });
  await app.register(rerankRoute, { lifecycle, schemas });
  await app.register(slimeRewardRoute, { lifecycle, schemas });
  // The over-optimization watch's figures, and a page to try the API and watch them.
  await app.register(statsRoute, { lifecycle });
  await app.register(pageRoutes, { authRequired: keys.length > 0 });
  return app;
}
