import { createHash, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ConfigError, splitList, type Config } from '../../config.js';
import { ServiceError } from '../../errors.js';

/**
 * The bearer keys from API_KEYS (comma-separated) and API_KEYS_FILE (one per line, `#`
 * comments); empty when no key is configured, which turns authentication off.
 * @throws ConfigError if API_KEYS_FILE cannot be read.
 */
export function loadApiKeys(config: Pick<Config, 'apiKeys' | 'apiKeysFile'>): string[] {
  const keys = splitList(config.apiKeys);
  if (config.apiKeysFile) {
    let lines: string[];
    try {
      lines = fs.readFileSync(config.apiKeysFile, 'utf8').split(/\r?\n/);
    } catch (err) {
      throw new ConfigError(`cannot read API_KEYS_FILE ${config.apiKeysFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    keys.push(...lines.map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith('#')));
  }
  return keys;
}

// Equal-length digests: timingSafeEqual needs equal lengths, and the time then says nothing
// about a key's length or content.
/** SHA-256 of a key; keys are compared by their digests. */
export const keyDigest = (key: string): Buffer => createHash('sha256').update(key).digest();

/** Whether `candidate` is one of the keys; every key is compared, each in constant time. */
export function isValidKey(candidate: string, digests: readonly Buffer[]): boolean {
  const d = keyDigest(candidate);
  let ok = false;
  for (const k of digests) ok = timingSafeEqual(d, k) || ok;
  return ok;
}

/** What the auth plugin needs. */
export interface AuthOptions {
  keys: readonly string[];
  /** Ask a key for /health/* too. */
  health: boolean;
  /** Ask a key for /metrics too. */
  metrics: boolean;
}

const BEARER = /^Bearer +(\S+) *$/i;

/**
 * Optional bearer-key authentication: 401 without a key, 403 with a wrong one. /health/* and
 * /metrics stay open unless configured otherwise (probes and scrapers carry no key), CORS
 * preflights (OPTIONS) are never asked for one, nor are the page's static files (routes marked
 * `public`: the page asks for a key before it calls the API).
 */
export const auth = fp(async (app: FastifyInstance, opts: AuthOptions) => {
  if (opts.keys.length === 0) return;
  const digests = opts.keys.map(keyDigest);
  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    if (request.method === 'OPTIONS') return;
    if (request.routeOptions.config?.public) return;
    if (!opts.health && route?.startsWith('/health/')) return;
    if (!opts.metrics && route === '/metrics') return;
    const m = BEARER.exec(request.headers.authorization ?? '');
    if (!m) {
      void reply.header('www-authenticate', 'Bearer');
      throw new ServiceError('unauthorized');
    }
    if (!isValidKey(m[1]!, digests)) {
      void reply.header('www-authenticate', 'Bearer error="invalid_token"');
      throw new ServiceError('forbidden');
    }
  });
});
