/**
 * Every error a client sees is rendered here, OpenAI-shaped: {"error":{"message","type","param","code"}}.
 * Fastify's own errors (bad JSON, body too large, wrong content type) are translated, never passed through.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../core/errors.js';

export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  const fe = err as Partial<FastifyError> & { statusCode?: number };
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new GatewayError(`We could not parse the JSON body of your request. (${fe.message ?? 'invalid JSON'})`, {
        status: 400,
        type: 'invalid_request_error',
        code: 'invalid_json',
        shouldRetry: false,
      });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GatewayError('The request body is larger than this gateway accepts (BODY_LIMIT_BYTES).', {
        status: 413,
        type: 'invalid_request_error',
        code: 'request_too_large',
        shouldRetry: false,
      });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new GatewayError('Send the request body as JSON with Content-Type: application/json.', {
        status: 415,
        type: 'invalid_request_error',
        code: 'unsupported_media_type',
        shouldRetry: false,
      });
    default:
      break;
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new GatewayError(fe.message ?? 'bad request', { status: fe.statusCode, type: 'invalid_request_error', code: fe.code ?? null });
  }
  return new GatewayError('The gateway hit an internal error while handling your request.', {
    status: 500,
    type: 'api_error',
    code: 'internal_error',
    cause: err,
  });
}

export function errorHeaders(err: GatewayError): Record<string, string> {
  const headers: Record<string, string> = {};
  if (err.retryAfterSec !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfterSec)));
  if (err.shouldRetry === false || (err.status >= 400 && err.status < 500 && err.status !== 408 && err.status !== 409 && err.status !== 429)) {
    headers['x-should-retry'] = 'false';
  }
  return headers;
}

/** A route may render errors in another API's shape (Anthropic's) by setting `config: { renderError }`. */
export type ErrorRenderer = (err: GatewayError) => unknown;

declare module 'fastify' {
  interface FastifyContextConfig {
    renderError?: ErrorRenderer;
    /** the 401 for a request without a key, naming the header this API's clients send */
    missingKeyMessage?: string;
    /** the body as the message limits read it (`messages`, `stream`), for an API shaped otherwise (src/http/server-limits.ts) */
    limitsView?: (request: FastifyRequest) => unknown;
  }
}

export function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const ge = toGatewayError(err);
  if (ge.status >= 500) request.log.error({ err: ge.cause ?? ge, code: ge.code }, ge.message);
  const render = request.routeOptions.config.renderError;
  request.gw.errorCode = ge.code ?? ge.type;
  return reply
    .code(ge.status === 499 ? 400 : ge.status)
    .headers(errorHeaders(ge))
    .type('application/json; charset=utf-8')
    .send(render ? render(ge) : ge.toOpenAI());
}
