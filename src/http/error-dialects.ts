import { ERROR_CODES, envelope, type ErrorCode, type ServiceError } from '../errors.js';

/**
 * How a route's errors look on the wire: our envelope, vLLM's OpenAI-style error, or Text
 * Embeddings Inference's. A route declares its dialect in its Fastify config
 * (`config: { errorDialect: 'vllm' }`); error-handler.ts, the one place errors become
 * responses, shapes every error of that route with it, including those raised before the
 * handler (bad JSON, body too large, 415, auth).
 */
export type ErrorDialect = 'service' | 'vllm' | 'tei';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The error dialect of the route; absent = our envelope. */
    errorDialect?: ErrorDialect;
  }
}

/** An error as one dialect answers it. */
export interface DialectReply {
  status: number;
  body: unknown;
}

/** vLLM's `ErrorResponse.error.type` and status for one of our codes. */
interface VllmEntry {
  status: number;
  type: string;
}

const bad: VllmEntry = { status: 400, type: 'BadRequestError' };
const unavailable: VllmEntry = { status: 503, type: 'Service Unavailable' };

/**
 * vLLM (vllm/entrypoints/serve/exception_handling/error_response.py): validation is 400
 * BadRequestError, an unknown model 404 NotFoundError, server faults 500 InternalServerError;
 * HTTP-level refusals carry the HTTP phrase as `type`, as its http_exception_handler writes.
 * vLLM never answers 429 (it queues) and verl retries 5xx but no 4xx, so a full queue is a 503.
 */
export const VLLM_ERRORS: Readonly<Record<ErrorCode, VllmEntry>> = {
  invalid_json: bad,
  bad_request: bad,
  request_timeout: { status: 408, type: 'Request Timeout' },
  headers_too_large: { status: 431, type: 'Request Header Fields Too Large' },
  json_too_complex: { status: 413, type: 'Request Entity Too Large' },
  unsupported_media_type: { status: 415, type: 'Unsupported Media Type' },
  payload_too_large: { status: 413, type: 'Request Entity Too Large' },
  invalid_request: bad,
  too_many_items: bad,
  empty_input: bad,
  text_too_long: bad,
  item_too_long: bad,
  response_too_long: bad,
  no_steps: bad,
  no_chat_template: bad,
  chat_template_error: bad,
  not_found: { status: 404, type: 'NotFoundError' },
  model_not_found: { status: 404, type: 'NotFoundError' },
  overloaded: unavailable,
  client_closed: { status: 499, type: 'Client Closed Request' },
  inference_failed: { status: 500, type: 'InternalServerError' },
  internal_error: { status: 500, type: 'InternalServerError' },
  not_ready: unavailable,
  shutting_down: unavailable,
  unauthorized: { status: 401, type: 'Unauthorized' },
  forbidden: { status: 403, type: 'Forbidden' },
  server_busy: unavailable,
  deadline_exceeded: { status: 504, type: 'Gateway Timeout' },
};

/** TEI's ErrorType (router/src/lib.rs), serialized without renaming. */
export type TeiErrorType = 'Unhealthy' | 'Backend' | 'Overloaded' | 'Validation' | 'Tokenizer' | 'Empty';

/** TEI's status per ErrorType (`impl From<&ErrorType> for StatusCode`, router/src/http/server.rs). */
export const TEI_STATUS: Readonly<Record<TeiErrorType, number>> = {
  Unhealthy: 503,
  Backend: 424,
  Overloaded: 429,
  Validation: 413,
  Tokenizer: 422,
  Empty: 400,
};

/** A TEI error type, and a status only where TEI answers outside its ErrorType table. */
interface TeiEntry {
  type: TeiErrorType;
  status?: number;
}

/**
 * TEI: the status follows the error type, except for what TEI's HTTP stack (axum) refuses
 * before its handlers (malformed JSON 400, content type 415, auth 401) and what TEI has no
 * counterpart for (an unknown `?model=` 404, a passed deadline 504); those keep their HTTP status.
 */
export const TEI_ERRORS: Readonly<Record<ErrorCode, TeiEntry>> = {
  invalid_json: { type: 'Validation', status: 400 },
  bad_request: { type: 'Validation', status: 400 },
  request_timeout: { type: 'Validation', status: 408 },
  headers_too_large: { type: 'Validation', status: 431 },
  json_too_complex: { type: 'Validation' },
  unsupported_media_type: { type: 'Validation', status: 415 },
  payload_too_large: { type: 'Validation' },
  invalid_request: { type: 'Validation' },
  too_many_items: { type: 'Validation' },
  empty_input: { type: 'Empty' },
  text_too_long: { type: 'Validation' },
  item_too_long: { type: 'Validation' },
  response_too_long: { type: 'Validation' },
  no_steps: { type: 'Validation' },
  no_chat_template: { type: 'Tokenizer' },
  chat_template_error: { type: 'Tokenizer' },
  not_found: { type: 'Validation', status: 404 },
  model_not_found: { type: 'Validation', status: 404 },
  overloaded: { type: 'Overloaded' },
  client_closed: { type: 'Backend', status: 499 },
  inference_failed: { type: 'Backend' },
  internal_error: { type: 'Backend' },
  not_ready: { type: 'Unhealthy' },
  shutting_down: { type: 'Unhealthy' },
  unauthorized: { type: 'Validation', status: 401 },
  forbidden: { type: 'Validation', status: 403 },
  server_busy: { type: 'Unhealthy' },
  deadline_exceeded: { type: 'Backend', status: 504 },
};

/** The status and body of an error in a dialect. */
export function dialectReply(dialect: ErrorDialect | undefined, e: ServiceError): DialectReply {
  switch (dialect) {
    case 'vllm': {
      const v = VLLM_ERRORS[e.code];
      return { status: v.status, body: { error: { message: e.message, type: v.type, param: null, code: v.status } } };
    }
    case 'tei': {
      const t = TEI_ERRORS[e.code];
      return { status: t.status ?? TEI_STATUS[t.type], body: { error: e.message, error_type: t.type } };
    }
    default:
      return { status: ERROR_CODES[e.code].status, body: envelope(e.code, e.message) };
  }
}
