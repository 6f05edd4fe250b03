import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ServiceError } from '../../errors.js';
import { checkJsonShape, type JsonShapeLimits } from '../json-shape.js';

/**
 * The JSON body parser: the raw bytes are scanned once for nesting depth, value count and key count
 * (json-shape.ts) and a body over either limit is refused with 413 `json_too_complex` before
 * JSON.parse; the rest goes to Fastify's own parser, which keeps secure-json-parse's
 * `__proto__` / `constructor.prototype` refusal (the app's onProtoPoisoning settings).
 */
export const jsonBody = fp(async (app: FastifyInstance, opts: JsonShapeLimits) => {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    const v = checkJsonShape(bytes, opts);
    if (v?.kind === 'depth') return done(new ServiceError('json_too_complex', `Request body nests deeper than ${v.limit} levels (MAX_JSON_DEPTH)`), undefined);
    if (v?.kind === 'values') return done(new ServiceError('json_too_complex', `Request body holds more than ${v.limit} values (MAX_JSON_VALUES)`), undefined);
    if (v?.kind === 'keys') return done(new ServiceError('json_too_complex', `Request body holds more than ${v.limit} object keys (MAX_JSON_KEYS)`), undefined);
    parse(request, bytes.toString('utf8'), done);
  });
});
