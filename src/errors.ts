/**
 * The one table of error codes the service can answer with, and the HTTP status of each.
 * Every layer throws {@link ServiceError} with a code from here; the HTTP error handler is
 * the only place that turns it into a response (see src/http/plugins/error-handler.ts).
 */
export const ERROR_CODES = Object.freeze({
  invalid_json: { status: 400, message: 'Request body is not valid JSON' },
  // Malformed HTTP (bad chunked encoding, invalid header): answered before any route is known.
  bad_request: { status: 400, message: 'The request is not valid HTTP' },
  request_timeout: { status: 408, message: 'The request was not received in time (REQUEST_TIMEOUT_MS, HEADERS_TIMEOUT_MS)' },
  headers_too_large: { status: 431, message: 'The request headers are too large' },
  json_too_complex: { status: 413, message: 'Request body nests too deep or holds too many values (MAX_JSON_DEPTH, MAX_JSON_VALUES, MAX_JSON_KEYS)' },
  unsupported_media_type: { status: 415, message: 'Content-Type must be application/json' },
  payload_too_large: { status: 413, message: 'Request body is too large' },
  invalid_request: { status: 422, message: 'Request body does not match the schema' },
  too_many_items: { status: 422, message: 'Too many items in one request' },
  empty_input: { status: 422, message: 'The request has nothing to score' },
  text_too_long: { status: 422, message: 'A text is longer than the character limit' },
  item_too_long: { status: 422, message: 'An item is longer than the model accepts' },
  response_too_long: { status: 422, message: 'A response alone is longer than the model accepts' },
  no_steps: { status: 422, message: 'An item has no step to score' },
  no_chat_template: { status: 422, message: 'The model has no chat template for conversation input' },
  chat_template_error: { status: 422, message: 'The chat template refused the conversation' },
  not_found: { status: 404, message: 'No such route' },
  model_not_found: { status: 404, message: 'No such model or ensemble' },
  overloaded: { status: 429, message: 'The queue is full; retry later' },
  // Logged only: the client has gone, so nothing is sent (nginx's convention).
  client_closed: { status: 499, message: 'The client closed the connection' },
  inference_failed: { status: 500, message: 'Inference failed' },
  internal_error: { status: 500, message: 'Internal server error' },
  not_ready: { status: 503, message: 'The model is not loaded yet' },
  shutting_down: { status: 503, message: 'The server is shutting down' },
  unauthorized: { status: 401, message: 'An API key is required (Authorization: Bearer <key>)' },
  forbidden: { status: 403, message: 'The API key is not valid' },
  server_busy: { status: 503, message: 'The server is saturated; retry later' },
  deadline_exceeded: { status: 504, message: 'The request timeout_ms passed before its items were scored' },
} as const);

/** A code from {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The error every layer throws; carries a code from the table and a client-safe message. */
export class ServiceError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Seconds the client should wait before retrying (sent as Retry-After). */
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message?: string, options?: { retryAfter?: number; cause?: unknown }) {
    super(message ?? ERROR_CODES[code].message, { cause: options?.cause });
    this.name = 'ServiceError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.retryAfter = options?.retryAfter;
  }
}

/** The JSON body of every error response. */
export interface ErrorEnvelope {
  error: { code: ErrorCode; message: string };
}

export function envelope(code: ErrorCode, message: string): ErrorEnvelope {
  return { error: { code, message } };
}
