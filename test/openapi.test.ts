import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { z } from 'zod';
import { requestSchemas } from '../src/http/schemas.js';
import { ROOT, startApp } from './helpers/app.js';

type Json = Record<string, any>;
const doc: Json = parse(fs.readFileSync(path.join(ROOT, 'openapi.yaml'), 'utf8'));

/** Follows $ref within the document. */
function deref(s: Json): Json {
  if (!s.$ref) return s;
  return (s.$ref as string).replace('#/', '').split('/').reduce((o: Json, k: string) => o[k], doc);
}

/**
 * The shape of a schema for comparison: per object, its property names and required ones,
 * recursing into arrays, oneOf/anyOf branches and properties.
 */
function shape(raw: Json): unknown {
  const s = deref(raw);
  const branches = s.oneOf ?? s.anyOf;
  if (branches) return { oneOf: branches.map(shape) };
  if (s.type === 'array') return { items: shape(s.items) };
  if (s.type === 'object' || s.properties) {
    return {
      required: [...(s.required ?? [])].sort(),
      properties: Object.fromEntries(Object.keys(s.properties ?? {}).sort().map((k) => [k, shape(s.properties[k])])),
    };
  }
  return 'leaf';
}

const schemas = requestSchemas({ maxItemsPerRequest: 10, maxCharsPerText: 10, maxTimeoutMs: 1000 });

for (const [route, name, key] of [
  ['/score', 'ScoreRequest', 'score'],
  ['/compare', 'CompareRequest', 'compare'],
  ['/rank', 'RankRequest', 'rank'],
  ['/get_reward', 'GetRewardRequest', 'getReward'],
  ['/tokenize', 'TokenizeRequest', 'tokenize'],
  ['/classify', 'ClassifyRequest', 'classify'],
  ['/v1/classify', 'ClassifyRequest', 'classify'],
  ['/predict', 'PredictRequest', 'predict'],
  ['/rerank', 'RerankRequest', 'rerank'],
  ['/reward', 'SlimeRewardRequest', 'slimeReward'],
] as const) {
  test(`openapi.yaml ${name} and the zod schema of ${route} agree on fields and required fields`, () => {
    const zodJson = z.toJSONSchema(schemas[key], { io: 'input' }) as Json;
    // zod marks fields with defaults as optional on input, as OpenAPI does.
    const fromOpenapi = shape(doc.components.schemas[name]);
    assert.deepEqual(shape(zodJson), fromOpenapi);
    const body = deref(doc.paths[route].post.requestBody.content['application/json'].schema);
    assert.equal(body, doc.components.schemas[name]);
  });
}

test('GET /openapi.yaml serves the document', async () => {
  const t = await startApp();
  try {
    const res = await t.app.inject({ url: '/openapi.yaml' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /yaml/);
    assert.deepEqual(parse(res.body), doc);
  } finally {
    await t.close();
  }
});
