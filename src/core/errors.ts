/**
 * One error value for the whole gateway, and the one catalogue of the codes it carries. Thrown anywhere, rendered
 * in one place per client API (each front end's error shape). docs/errors.md lists every code below; a test keeps
 * the two in step, and another keeps code strings out of the rest of src.
 */

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'api_error'
  | 'upstream_error'
  | 'overloaded_error'
  | 'timeout_error';

export interface GatewayErrorInit {
  status: number;
  type: ErrorType;
  code?: string | null;
  param?: string | null;
  /** seconds until a retry may succeed; sets Retry-After */
  retryAfterSec?: number;
  /** false: tell the OpenAI SDK not to retry (x-should-retry: false) */
  shouldRetry?: boolean;
  cause?: unknown;
}

export class GatewayError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  readonly code: string | null;
  readonly param: string | null;
  readonly retryAfterSec: number | undefined;
  readonly shouldRetry: boolean | undefined;

  constructor(message: string, init: GatewayErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'GatewayError';
    this.status = init.status;
    this.type = init.type;
    this.code = init.code ?? null;
    this.param = init.param ?? null;
    this.retryAfterSec = init.retryAfterSec;
    this.shouldRetry = init.shouldRetry;
  }

  /** The same error in other words (a parameter renamed): status, type, code and retry advice kept. */
  reworded(message: string, param: string | null): GatewayError {
    return new GatewayError(message, { status: this.status, type: this.type, code: this.code, param, shouldRetry: false });
  }

  /** The OpenAI error body: {"error":{"message","type","param","code"}} */
  toOpenAI(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

interface CatalogueEntry {
  status: number;
  type: ErrorType;
  /** false: a client must not retry it as is */
  shouldRetry?: false;
  /** one line for docs/errors.md: when the gateway answers this */
  when: string;
}

const invalid = (when: string): CatalogueEntry => ({ status: 400, type: 'invalid_request_error', shouldRetry: false, when });

/** Every code the gateway itself emits, with its status and type. OnDemand's own error codes pass through as they are. */
export const ERROR_CATALOGUE = {
  // ── the request's shape ──
  invalid_json: invalid('the body is not valid JSON'),
  request_too_large: { status: 413, type: 'invalid_request_error', shouldRetry: false, when: 'the body is over BODY_LIMIT_BYTES' },
  unsupported_media_type: {
    status: 415,
    type: 'invalid_request_error',
    shouldRetry: false,
    when: 'the body is not JSON (415), or a media part is of a type outside MEDIA_ALLOWED_TYPES (400)',
  },
  request_headers_too_large: { status: 431, type: 'invalid_request_error', when: 'the headers are over MAX_HEADER_BYTES' },
  request_timeout: { status: 408, type: 'invalid_request_error', when: 'the request did not arrive within HEADERS_TIMEOUT_MS / REQUEST_TIMEOUT_MS' },
  malformed_request: { status: 400, type: 'invalid_request_error', when: 'the HTTP request could not be parsed' },
  unknown_url: { status: 404, type: 'invalid_request_error', when: 'no route has this method and path' },
  missing_required_parameter: invalid('a required parameter is absent'),
  invalid_type: invalid('a parameter (or the body) has the wrong JSON type'),
  invalid_value: invalid('a parameter has a value outside what it accepts'),
  unsupported_value: invalid('a parameter asks for something this gateway or OnDemand does not do'),
  unsupported_content: invalid('a content part or block of a kind this API does not take here'),
  empty_array: invalid('an array that needs items is empty'),
  mutually_exclusive_parameters: invalid('two parameters that exclude each other are both given'),
  too_many_messages: invalid('the request has more than MAX_MESSAGES messages (Responses: input items)'),
  message_too_large: invalid('one message holds more than MAX_MESSAGE_CHARS characters of text'),
  // ── media ──
  invalid_media: invalid('a media part is malformed (data: URL, base64, source)'),
  media_too_large: invalid('a media part is over MEDIA_MAX_BYTES'),
  too_many_media: invalid('more media parts than one request may carry'),
  media_processing_failed: invalid('OnDemand could not read an uploaded file (its own answer, kept as the code)'),
  // ── plugins ──
  unknown_plugin: invalid('a plugin outside PLUGIN_IDS_ALLOWED'),
  plugin_not_allowed: invalid('a plugin the client key may not use'),
  too_many_plugins: invalid('more plugins than OnDemand runs for one query'),
  plugin_execution_timeout: { status: 504, type: 'timeout_error', shouldRetry: false, when: "OnDemand's plugins ran past their time limit" },
  // ── who is asking ──
  invalid_api_key: { status: 401, type: 'authentication_error', shouldRetry: false, when: 'the client key is missing, unknown or revoked' },
  model_not_allowed: { status: 403, type: 'permission_error', shouldRetry: false, when: 'the client key may not use this model' },
  rate_limit_exceeded: { status: 429, type: 'rate_limit_error', when: "the client key's requests per minute are spent" },
  tokens_per_day_exceeded: { status: 429, type: 'rate_limit_error', when: "the client key's tokens per day are spent" },
  too_many_streams: { status: 429, type: 'rate_limit_error', when: 'the client key has MAX_STREAMS_PER_CLIENT streams open' },
  auth_failures_throttled: {
    status: 429,
    type: 'rate_limit_error',
    when: 'the address sent AUTH_FAILURE_LIMIT wrong keys in AUTH_FAILURE_WINDOW_SEC: any key from it waits out the window',
  },
  model_not_found: { status: 404, type: 'invalid_request_error', shouldRetry: false, when: 'no model of this name is served' },
  // ── stored responses and conversations ──
  previous_response_not_found: invalid('previous_response_id names no response this client may read'),
  not_found: { status: 404, type: 'invalid_request_error', shouldRetry: false, when: 'stored responses and conversations are off (RESPONSES_STORE=false)' },
  stored_state_unavailable: { status: 503, type: 'api_error', when: 'stored responses live in Redis, and Redis is away' },
  usage_store_unavailable: { status: 503, type: 'api_error', when: 'usage lives in Redis, and Redis is away' },
  store_unavailable: { status: 503, type: 'api_error', when: 'the shared store of client keys is not reachable' },
  // ── the admin API ──
  key_exists: { status: 409, type: 'invalid_request_error', shouldRetry: false, when: 'the upstream key is already in the pool' },
  key_not_found: { status: 404, type: 'not_found_error', shouldRetry: false, when: 'no upstream key has this fingerprint' },
  probe_not_configured: { status: 501, type: 'api_error', when: 'a key test is asked for, and no probe is set up' },
  client_key_not_found: { status: 404, type: 'not_found_error', when: 'no client key has this name' },
  client_key_conflict: { status: 409, type: 'invalid_request_error', shouldRetry: false, when: 'a client key name or key is taken, or comes from the configuration' },
  // ── the upstream ──
  no_upstream_keys_available: { status: 503, type: 'api_error', when: 'no upstream key is configured or usable' },
  all_keys_rate_limited: { status: 429, type: 'rate_limit_error', when: 'every upstream key is cooling after a rate limit' },
  upstream_rate_limited: { status: 429, type: 'rate_limit_error', when: 'OnDemand rate-limits the gateway (or the circuit holds calls for it)' },
  upstream_unavailable: { status: 503, type: 'api_error', when: 'the circuit holds calls: OnDemand fails for every key' },
  upstream_key_rejected: { status: 503, type: 'api_error', when: "OnDemand refused the gateway's own key" },
  upstream_edge_blocked: { status: 502, type: 'api_error', when: "OnDemand's edge blocked the request" },
  upstream_invalid_request: invalid('OnDemand rejected the request (413 and 422 keep their status)'),
  upstream_timeout: { status: 504, type: 'api_error', when: 'OnDemand did not answer in time' },
  upstream_error: { status: 502, type: 'api_error', when: 'OnDemand failed otherwise' },
  upstream_idle_timeout: { status: 502, type: 'api_error', when: 'the stream went quiet after the answer began' },
  upstream_stream_interrupted: { status: 502, type: 'api_error', when: 'the stream broke after the answer began' },
  no_upstream_attempt: { status: 503, type: 'api_error', when: 'the plan ended without any upstream attempt' },
  // ── the gateway ──
  client_closed_request: { status: 499, type: 'invalid_request_error', when: 'the client went away (logged; answered 400 if anyone listens)' },
  server_shutting_down: { status: 503, type: 'api_error', when: 'the gateway is draining for shutdown' },
  internal_error: { status: 500, type: 'api_error', when: 'a bug: the gateway failed while handling the request' },
  server_error: { status: 500, type: 'api_error', when: 'a Responses stream failed with no code of its own' },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface ErrorDetail {
  param?: string | null;
  retryAfterSec?: number | undefined;
  shouldRetry?: boolean;
  cause?: unknown;
  /** where one code has more than one status (see its catalogue line) */
  status?: number;
  /** OnDemand's own code, shown instead when it gave one */
  upstreamCode?: string | undefined;
}

/** The error for a catalogued code: status and type from the catalogue, the words from the caller. */
export function gatewayError(code: ErrorCode, message: string, detail: ErrorDetail = {}): GatewayError {
  const entry: CatalogueEntry = ERROR_CATALOGUE[code];
  const shouldRetry = detail.shouldRetry ?? entry.shouldRetry;
  return new GatewayError(message, {
    status: detail.status ?? entry.status,
    type: entry.type,
    code: detail.upstreamCode ?? code,
    param: detail.param ?? null,
    ...(detail.retryAfterSec === undefined ? {} : { retryAfterSec: detail.retryAfterSec }),
    ...(shouldRetry === undefined ? {} : { shouldRetry }),
    ...(detail.cause === undefined ? {} : { cause: detail.cause }),
  });
}

/** A 400 in OpenAI's words; no code for the admin and observability APIs' own checks. */
export const invalidRequest = (message: string, param: string | null = null, code: ErrorCode | null = null): GatewayError =>
  code === null ? new GatewayError(message, { status: 400, type: 'invalid_request_error', param, shouldRetry: false }) : gatewayError(code, message, { param, status: 400 });

/** A 404 without a code (OpenAI's words for a stored object that is not there). */
export const notFound = (message: string, param: string | null = null): GatewayError =>
  new GatewayError(message, { status: 404, type: 'invalid_request_error', param, shouldRetry: false });

// ── named errors: the words each code is said in, where one code has one wording ──

export const bodyNotObject = (): GatewayError => invalidRequest('The request body must be a JSON object.', null, 'invalid_type');

export const invalidJson = (detail: string | undefined): GatewayError =>
  gatewayError('invalid_json', `We could not parse the JSON body of your request. (${detail ?? 'invalid JSON'})`);

export const requestTooLarge = (): GatewayError => gatewayError('request_too_large', 'The request body is larger than this gateway accepts (BODY_LIMIT_BYTES).');

export const bodyNotJson = (): GatewayError => gatewayError('unsupported_media_type', 'Send the request body as JSON with Content-Type: application/json.');

export const internalError = (cause: unknown): GatewayError => gatewayError('internal_error', 'The gateway hit an internal error while handling your request.', { cause });

export const streamFailed = (cause: unknown): GatewayError => gatewayError('internal_error', 'the gateway failed while streaming', { cause });

export const unknownUrl = (method: string, path: string): GatewayError => gatewayError('unknown_url', `Unknown request URL: ${method} ${path}. Please check the URL and method.`);

export const invalidApiKey = (message = 'Incorrect API key provided.'): GatewayError => gatewayError('invalid_api_key', message);

export const modelNotFound = (model: string): GatewayError =>
  gatewayError('model_not_found', `The model \`${model}\` does not exist or you do not have access to it.`, { param: 'model' });

export const modelNotAllowed = (client: string, model: string): GatewayError =>
  gatewayError('model_not_allowed', `The client key "${client}" may not use the model \`${model}\`.`, { param: 'model' });

export const clientRateLimited = (client: string, what: string, kind: 'tokens' | 'requests', retryAfterSec: number | undefined): GatewayError =>
  gatewayError(kind === 'tokens' ? 'tokens_per_day_exceeded' : 'rate_limit_exceeded', `Rate limit reached for client key "${client}" on ${what}. Please try again later.`, {
    retryAfterSec: retryAfterSec ?? 1,
  });

export const authFailuresThrottled = (retryAfterSec: number): GatewayError =>
  gatewayError('auth_failures_throttled', 'Too many failed authentications from your address; wait before trying again (any key is refused until then).', {
    retryAfterSec,
  });

export const clientKeyConflict = (message: string, param: string): GatewayError => gatewayError('client_key_conflict', message, { param });

export const serverShuttingDown = (): GatewayError =>
  gatewayError('server_shutting_down', 'The gateway is shutting down and takes no new requests; retry, another instance will answer.', { retryAfterSec: 1 });

export const requestStopped = (): GatewayError =>
  gatewayError('server_shutting_down', 'The gateway is shutting down; this request was stopped. Retry it: another instance will answer.', { retryAfterSec: 1 });

export const tooManyStreams = (max: number): GatewayError =>
  gatewayError('too_many_streams', `Too many streams in flight for this API key (at most ${max}, MAX_STREAMS_PER_CLIENT); wait for one to finish.`, { retryAfterSec: 1 });

export const tooManyMessages = (count: number, max: number, param: string): GatewayError =>
  gatewayError('too_many_messages', `Too many messages: ${count}; this gateway accepts at most ${max} (MAX_MESSAGES).`, { param });

export const messageTooLarge = (where: string, max: number, param: string): GatewayError =>
  gatewayError('message_too_large', `${where} is too long: this gateway accepts at most ${max} characters of text per message (MAX_MESSAGE_CHARS).`, { param });

export const clientClosedRequest = (): GatewayError => gatewayError('client_closed_request', 'the client closed the request');

export const noUpstreamAttempt = (): GatewayError => gatewayError('no_upstream_attempt', 'no upstream attempt could be made', { retryAfterSec: 1 });

export const storeUnavailable = (cause: unknown): GatewayError => gatewayError('store_unavailable', 'The shared store is not reachable right now; try again shortly.', { cause });

export const redisUnavailable = (what: string, code: 'stored_state_unavailable' | 'usage_store_unavailable', cause?: unknown): GatewayError =>
  gatewayError(code, `${what} kept in Redis, which is not reachable right now; try again shortly.`, { retryAfterSec: 1, cause });
