/**
 * One error value for the whole gateway. Thrown anywhere, rendered in one place per client API
 * (OpenAI shape for /v1/chat/completions and friends, Anthropic shape for /v1/messages).
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

  /** The OpenAI error body: {"error":{"message","type","param","code"}} */
  toOpenAI(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const invalidRequest = (message: string, param: string | null = null, code: string | null = null): GatewayError =>
  new GatewayError(message, { status: 400, type: 'invalid_request_error', param, code, shouldRetry: false });
