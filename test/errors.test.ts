import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { ERROR_CODES, ServiceError, type ErrorCode } from '../src/errors.js';
import { toServiceError } from '../src/http/plugins/error-handler.js';
import { ROOT } from './helpers/app.js';

test('every error code maps to a 4xx/5xx status (499 only for a client that left)', () => {
  for (const [code, { status, message }] of Object.entries(ERROR_CODES)) {
    assert.match(code, /^[a-z_]+$/);
    assert.ok((status >= 400 && status < 600) || (code === 'client_closed' && status === 499), code);
    assert.ok(message.length > 0);
  }
  const expected: Partial<Record<ErrorCode, number>> = {
    invalid_json: 400,
    payload_too_large: 413,
    invalid_request: 422,
    overloaded: 429,
    not_ready: 503,
    shutting_down: 503,
    inference_failed: 500,
  };
  for (const [code, status] of Object.entries(expected)) assert.equal(ERROR_CODES[code as ErrorCode].status, status, code);
});

test('openapi.yaml documents exactly the codes of the table', () => {
  const doc = parse(fs.readFileSync(path.join(ROOT, 'openapi.yaml'), 'utf8'));
  const documented: string[] = doc.components.schemas.Error.properties.error.properties.code.enum;
  assert.deepEqual([...documented].sort(), Object.keys(ERROR_CODES).sort());
});

test('unknown errors become internal_error without leaking their message', () => {
  const e = toServiceError(new Error('ENOENT /secret/path/model.onnx'), 1024);
  assert.equal(e.code, 'internal_error');
  assert.doesNotMatch(e.message, /secret/);
  const s = new ServiceError('overloaded', 'full', { retryAfter: 2 });
  assert.equal(toServiceError(s, 1024), s);
  assert.equal(s.status, 429);
});
