/**
 * Every error a client sees is rendered here, OpenAI-shaped: {"error":{"message","type","param","code"}}.
 * Fastify's own errors (bad JSON, body too large, wrong content type) are translated, never passed through.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { bodyNotJson, GatewayError, internalError, invalidJson, requestTooLarge } from '../core/errors.js';

export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  const fe = err as Partial<FastifyError> & { statusCode?: number };
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return invalidJson(fe.message);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return requestTooLarge();
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return bodyNotJson();
    default:
      break;
  }
  // fastify's other 4xx keep their own code (FST_…): they are fastify's words, not the gateway's
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new GatewayError(fe.message ?? 'bad request', { status: fe.statusCode, type: 'invalid_request_error', code: fe.code ?? null });
  }
  return internalError(err);
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
    /** whether the request holds a stream open (MAX_STREAMS_PER_CLIENT, src/http/server-limits.ts); absent: `stream: true` in the body */
    opensStream?: (request: FastifyRequest) => boolean;
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
