import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { ERROR_CODES } from '../../src/errors.js';
import { DEFAULT_NAME, startApp, testConfig, type TestApp } from '../helpers/app.js';

/** mulberry32: a small seeded PRNG, so every run sends the same cases. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick, chance: (p: number) => next() < p };
}
type Rng = ReturnType<typeof prng>;

const CASES = 3000;
const KEY = 'fuzz-key-0123456789';
const LIMITS = { MAX_BODY_BYTES: '8192', MAX_ITEMS_PER_REQUEST: '4', MAX_CHARS_PER_TEXT: '300', MAX_TIMEOUT_MS: '5000', MAX_JSON_DEPTH: '32' };

const WORDS = ['hello', 'the', 'river', '', ' ', 'ünïcödé', '日本語', '🙂', '\u0000', '\ud800', '\n\nHuman:', '<s>', '</s>', '"', '\\', '{', '%00'];
const text = (r: Rng) => Array.from({ length: r.int(6) }, () => r.pick(WORDS)).join(r.pick([' ', '', '\t']));

/** A body the schema accepts: 1–3 items or pairs of short random text. */
function validBody(r: Rng, route: string): Record<string, unknown> {
  const n = 1 + r.int(3);
  const body: Record<string, unknown> =
    route === '/compare'
      ? { pairs: Array.from({ length: n }, () => (r.chance(0.5) ? { prompt: text(r), a: text(r), b: text(r) } : { prompt: text(r), chosen: text(r), rejected: text(r) })) }
      : { items: Array.from({ length: n }, () => (r.chance(0.5) ? { prompt: text(r), response: text(r) } : { text: text(r) })) };
  if (r.chance(0.3)) body.truncation = r.pick(['auto', 'error']);
  if (r.chance(0.3)) body.timeout_ms = 1000 + r.int(4000);
  return body;
}

const ODD_VALUES: unknown[] = [null, true, 0, -1, 1.5, 1e308, -0, '', 'x'.repeat(400), [], {}, [[[[]]]], { a: { b: { c: {} } } }, '__proto__', 2 ** 53 + 1];

/** One structural change somewhere in a JSON value: drop, retype, add or nest. */
function mutate(r: Rng, v: unknown, depth = 0): unknown {
  if (Array.isArray(v)) {
    const out = [...v];
    const op = r.int(5);
    if (op === 0 && out.length) out.splice(r.int(out.length), 1);
    else if (op === 1) out.push(r.pick(ODD_VALUES));
    else if (op === 2) for (let i = 0; i < 1 + r.int(20); i++) out.push(out[0] ?? {});
    else if (out.length) out[r.int(out.length)] = mutate(r, out[r.int(out.length)], depth + 1);
    return out;
  }
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = { ...(v as Record<string, unknown>) };
    const keys = Object.keys(out);
    const op = r.int(5);
    if (op === 0 && keys.length) delete out[r.pick(keys)];
    else if (op === 1) out[r.pick(['extra', 'Items', 'prompt', 'text', 'a', 'timeout_ms', 'truncation', 'model'])] = r.pick(ODD_VALUES);
    else if (op === 2 && keys.length) out[r.pick(keys)] = r.pick(ODD_VALUES);
    else if (keys.length && depth < 6) {
      const k = r.pick(keys);
      out[k] = mutate(r, out[k], depth + 1);
    }
    return out;
  }
  return r.chance(0.5) ? r.pick(ODD_VALUES) : v;
}

/** Damage to the serialized text: cut it, flip bytes, inject prototype keys, or nest deeply. */
function corrupt(r: Rng, json: string): string | Buffer {
  switch (r.int(8)) {
    case 0:
      return json.slice(0, r.int(json.length));
    case 1: {
      const b = Buffer.from(json);
      for (let i = 0; i < 1 + r.int(4); i++) b[r.int(b.length)] = r.int(256);
      return b;
    }
    case 2:
      return json.replace('{', r.pick(['{"__proto__": {"polluted": 1}, ', '{"constructor": {"prototype": {"polluted": 1}}, ', '{"a": 1, "a": 2, ']));
    case 3:
      return '['.repeat(1 + r.int(3000)) + ']'.repeat(r.int(3000));
    case 4:
      return '\ufeff' + json;
    case 5:
      return Buffer.concat([Buffer.from(json.slice(0, -2)), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(json.slice(-2))]);
    case 6:
      return json.replace(/"/g, r.pick(["'", '', '\\"']));
    default:
      return r.pick(['null', 'true', '0', '"items"', '[]', '{}', ' ', 'NaN', '{"items": [{"text": "a"}]}garbage', '{"items":' + '[{"text":"a"}],'.repeat(5) + '}']);
  }
}

const randomBytes = (r: Rng) => Buffer.from(Array.from({ length: r.int(600) }, () => r.int(256)));
const METHODS = ['POST', 'GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'] as const;
const SCORING = ['/score', '/compare'];
const URLS = ['/health/live', '/health/ready', '/metrics', '/v1/models', '/openapi.yaml', '/score/', '/SCORE', '/score?x=1&x=2', '/%ff%fe', '/score/../compare', '/' + 'a'.repeat(3000), '/v1/models/../../etc/passwd'];
const TYPES = ['application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', 'application/jsonx', ';;;', '*/*', null];

interface Case {
  method: (typeof METHODS)[number];
  url: string;
  headers: Record<string, string>;
  payload: string | Buffer | undefined;
  keyed: boolean;
}

function makeCase(r: Rng): Case {
  const method = r.chance(0.85) ? 'POST' : r.pick(METHODS);
  const url = r.chance(0.8) ? r.pick(SCORING) : r.pick(URLS);
  const route = url === '/compare' ? '/compare' : '/score';
  const headers: Record<string, string> = {};
  const type = r.chance(0.6) ? 'application/json' : r.pick(TYPES);
  if (type !== null) headers['content-type'] = type;
  if (r.chance(0.2)) headers['x-request-id'] = r.pick(['trainer-1.step-2', 'with space', 'x'.repeat(300), '../../', 'ok:id']);
  if (r.chance(0.1)) headers.accept = r.pick(['text/html', '*/*', 'application/xml']);
  let payload: string | Buffer | undefined;
  const kind = r.int(10);
  if (kind < 2) payload = JSON.stringify(validBody(r, route));
  else if (kind < 6) payload = JSON.stringify(mutate(r, validBody(r, route)));
  else if (kind < 8) payload = corrupt(r, JSON.stringify(validBody(r, route)));
  else if (kind < 9) payload = randomBytes(r);
  else payload = r.chance(0.5) ? '' : JSON.stringify({ items: [{ text: 'x'.repeat(9000) }] }); // empty or over MAX_BODY_BYTES
  const keyed = r.chance(0.15);
  if (keyed) {
    const auth = r.pick([`Bearer ${KEY}`, `Bearer ${KEY}`, `Bearer ${KEY.slice(1)}`, 'Bearer', 'Basic Zm9vOmJhcg==', `bearer ${KEY}`, `Bearer ${KEY} extra`, 'x'.repeat(500), '']);
    headers.authorization = auth;
  }
  return { method, url, headers, payload, keyed };
}

// The oracle: the status each case must get, worked out here from the documented contract
// (docs/api.md, openapi.yaml, ERROR_CODES) and Fastify's request lifecycle, never by asking the
// service. Checks run in this order: routing, the API key (onRequest), the body (media type,
// size, nesting, JSON), then the route's schema and its model.
const MAX = { bodyBytes: +LIMITS.MAX_BODY_BYTES, items: +LIMITS.MAX_ITEMS_PER_REQUEST, chars: +LIMITS.MAX_CHARS_PER_TEXT, depth: +LIMITS.MAX_JSON_DEPTH };
const GET_ROUTES = ['/health/live', '/health/ready', '/metrics', '/v1/models', '/openapi.yaml'];
/** Probes and scrapers carry no key (AUTH_HEALTH and AUTH_METRICS are off). */
const OPEN_ROUTES = ['/health/live', '/health/ready', '/metrics'];

/** Deepest nesting of [ and { outside strings: the body's shape is bounded before it is parsed. */
function nesting(bytes: Buffer): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = String.fromCharCode(bytes[i]!);
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') deepest = Math.max(deepest, ++depth);
    else if (c === ']' || c === '}') depth--;
  }
  return deepest;
}

/** Whether a parsed value holds a prototype-poisoning key, which the JSON parser refuses. */
function poisoned(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  if (Object.hasOwn(v, '__proto__')) return true;
  const ctor = (v as Record<string, unknown>).constructor;
  if (Object.hasOwn(v, 'constructor') && typeof ctor === 'object' && ctor !== null && Object.hasOwn(ctor, 'prototype')) return true;
  return Object.values(v).some(poisoned);
}

/** The body Fastify's JSON parser makes of these bytes (a UTF-8 BOM is skipped), or null if it refuses them. */
function parseJson(bytes: Buffer): { value: unknown } | null {
  const text = bytes.toString('utf8').replace(/^\ufeff/, '');
  try {
    const value: unknown = JSON.parse(text);
    return poisoned(value) ? null : { value };
  } catch {
    return null;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const hasKeys = (o: Record<string, unknown>, keys: string[]) => Object.keys(o).length === keys.length && keys.every((k) => Object.hasOwn(o, k));
const isText = (v: unknown) => typeof v === 'string' && v.length <= MAX.chars;
const isList = (v: unknown, each: (x: unknown) => boolean) => Array.isArray(v) && v.length >= 1 && v.length <= MAX.items && v.every(each);
/** A prompt is a text or a conversation; the fuzz never builds a well-formed conversation. */
function isPrompt(v: unknown): boolean {
  if (!Array.isArray(v)) return isText(v);
  if (v.length === 0 || v.length > MAX.items || !v.every(isObject)) return false;
  throw new Error(`the oracle does not model conversations: ${JSON.stringify(v).slice(0, 200)}`);
}
const isItem = (v: unknown) =>
  isObject(v) && ((hasKeys(v, ['prompt', 'response']) && isPrompt(v.prompt) && isText(v.response)) || (hasKeys(v, ['text']) && isText(v.text)));
const isPair = (v: unknown) =>
  isObject(v) &&
  ((hasKeys(v, ['prompt', 'a', 'b']) && isPrompt(v.prompt) && isText(v.a) && isText(v.b)) ||
    (hasKeys(v, ['prompt', 'chosen', 'rejected']) && isPrompt(v.prompt) && isText(v.chosen) && isText(v.rejected)));
/** The options both routes take that the fuzz can send; any other key is refused (strict schema). */
const OPTIONS: Record<string, (v: unknown) => boolean> = {
  model: (v) => typeof v === 'string' && v.length >= 1 && v.length <= 128,
  truncation: (v) => v === 'auto' || v === 'error',
  timeout_ms: (v) => Number.isSafeInteger(v) && (v as number) >= 1,
};

/** The status of a parsed body on /score or /compare: 422 off the schema, 404 for a model not served. */
function bodyStatus(route: string, body: unknown): number {
  const list = route === '/compare' ? 'pairs' : 'items';
  if (!isObject(body) || !isList(body[list], route === '/compare' ? isPair : isItem)) return 422;
  for (const [k, v] of Object.entries(body)) if (k !== list && !OPTIONS[k]?.(v)) return 422;
  if (body.model !== undefined && body.model !== DEFAULT_NAME) return 404;
  return 200;
}

/** The status a case must get. */
function expectedStatus(c: Case): number {
  // The path as app.inject sends it: the WHATWG URL parser drops the query and resolves `..`.
  const url = new URL(c.url, 'http://localhost').pathname;
  // A URL that cannot be decoded names no route: answered before any hook runs.
  try {
    decodeURIComponent(url);
  } catch {
    return 404;
  }
  const bodyless = c.method === 'GET' || c.method === 'HEAD';
  const route = c.method === 'POST' && SCORING.includes(url) ? url : bodyless && GET_ROUTES.includes(url) ? url : null;
  // The key is asked before anything else, also for a URL with no route; CORS preflights never need one.
  if (c.keyed && c.method !== 'OPTIONS' && !(route && OPEN_ROUTES.includes(route))) {
    const [scheme, token, ...rest] = (c.headers.authorization ?? '').split(' ');
    if (scheme?.toLowerCase() !== 'bearer' || !token || rest.length > 0) return 401;
    if (token !== KEY) return 403;
  }
  if (bodyless) return route ? 200 : 404;
  // Fastify reads a body before the handler runs, the not-found handler too: a malformed
  // Content-Type is a 415 anywhere, a JSON body is size-checked and parsed anywhere, and a
  // type no parser takes is a 415 on a route (a 404 off one).
  const bytes = c.payload === undefined ? Buffer.alloc(0) : Buffer.from(c.payload);
  const type = c.headers['content-type'];
  let body: unknown;
  if (type === undefined) {
    if (bytes.length > 0) return route ? 415 : 404;
  } else {
    const media = /^\s*([\w!#$%&'*+.^`|~-]+)\/([\w!#$%&'*+.^`|~-]+)\s*(;|$)/.exec(type);
    if (!media) return 415;
    if (`${media[1]}/${media[2]}`.toLowerCase() !== 'application/json') return route ? 415 : 404;
    if (bytes.length > MAX.bodyBytes) return 413;
    if (nesting(bytes) > MAX.depth) return 413;
    const parsed = parseJson(bytes);
    if (!parsed) return 400;
    body = parsed.value;
  }
  return route ? bodyStatus(route, body) : 404;
}

let t: TestApp;
let keyed: FastifyInstance;
before(async () => {
  t = await startApp(LIMITS);
  keyed = await buildApp({ config: testConfig({ ...LIMITS, API_KEYS: KEY }), lifecycle: t.lifecycle });
});
after(async () => {
  await keyed.close();
  await t.close();
});

test(`fuzz: ${CASES} random malformed requests (seeded) → each the status the contract gives it, a 4xx envelope or the right 2xx`, async () => {
  const r = prng(0x5eed);
  const seen = new Map<number, number>();
  const codes = new Set<string>();
  let scored = 0;
  for (let i = 0; i < CASES; i++) {
    const c = makeCase(r);
    const app = c.keyed ? keyed : t.app;
    const res = await app.inject({ method: c.method, url: c.url, headers: c.headers, ...(c.payload === undefined ? {} : { payload: c.payload }) });
    const expected = expectedStatus(c);
    const where = `case ${i}: ${c.method} ${c.url.slice(0, 40)} ${c.headers['content-type'] ?? '(no type)'} → ${res.statusCode}, expected ${expected}`;
    seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);
    // Every case, refused or served, gets exactly the status the contract gives it.
    assert.equal(res.statusCode, expected, `${where}: ${res.body.slice(0, 300)}`);
    assert.doesNotMatch(res.body, /\n\s+at |node_modules|\/work\/|dist\//, `${where}: no stack trace or path`);
    if (c.method === 'HEAD') continue; // no body by definition
    if (res.statusCode >= 400) {
      const body = res.json();
      assert.deepEqual(Object.keys(body), ['error'], where);
      assert.equal(typeof body.error.message, 'string', where);
      const code = body.error.code as keyof typeof ERROR_CODES;
      assert.equal(ERROR_CODES[code]?.status, res.statusCode, `${where}: ${code}`);
      codes.add(code);
    } else if (c.method === 'POST') {
      // Served: one reward per item, one result per pair.
      const sent = parseJson(Buffer.from(c.payload!))!.value as { items?: unknown[]; pairs?: unknown[] };
      const body = res.json();
      const n = (sent.items ?? sent.pairs)!.length;
      assert.equal((body.rewards ?? body.pairs).length, n, where);
      scored++;
    }
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
  // The cases reach every kind of refusal, and valid ones through scoring.
  for (const status of [200, 400, 401, 403, 404, 413, 415, 422]) assert.ok((seen.get(status) ?? 0) > 0, `no case gave ${status}`);
  assert.ok(scored >= 100, `only ${scored} cases were scored`);
  for (const code of ['invalid_json', 'invalid_request', 'unsupported_media_type', 'payload_too_large', 'not_found', 'unauthorized', 'forbidden']) assert.ok(codes.has(code), code);
  const next = await t.app.inject({ method: 'POST', url: '/score', payload: { items: [{ prompt: 'still', response: 'fine' }] } });
  assert.equal(next.statusCode, 200);
  assert.equal(t.runtime.batcher.depth, 0);
  console.log(`fuzz status counts: ${[...seen].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ')}`);
});
