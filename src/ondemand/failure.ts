/**
 * Everything that can go wrong talking to OnDemand, as one value carrying what the failure policy
 * (src/core/failure-policy.ts) needs to judge it for the key, the request and the client.
 */

export type UpstreamFailureKind =
  /** the upstream answered with a non-2xx status */
  | 'http'
  /** no TCP/TLS connection within the connect timeout */
  | 'connect_timeout'
  /** connected, but no response headers / first frame within the first-byte timeout */
  | 'first_byte_timeout'
  /** a stream went quiet for longer than the idle timeout */
  | 'idle_timeout'
  /** connection refused or reset, socket closed early */
  | 'network'
  /** the stream ended without [DONE], or sent data:[ERROR] */
  | 'stream_error'
  /** our own client hung up: never the key's fault */
  | 'client_aborted';

export interface UpstreamFailureInit {
  kind: UpstreamFailureKind;
  /** which upstream call failed */
  phase: 'session' | 'query' | 'stream' | 'probe' | 'catalogue' | 'media';
  status?: number;
  /** OnDemand's errorCode, e.g. rate_limit_exceeded, model_error, context_length_exceeded */
  errorCode?: string;
  /** OnDemand's message text (already free of any key) */
  upstreamMessage?: string;
  retryAfterSec?: number;
  /** the body looked like HTML (a Cloudflare edge block rather than an API answer) */
  htmlBody?: boolean;
  cause?: unknown;
}

export class UpstreamFailure extends Error {
  readonly kind: UpstreamFailureKind;
  readonly phase: UpstreamFailureInit['phase'];
  readonly status: number | undefined;
  readonly errorCode: string | undefined;
  readonly upstreamMessage: string | undefined;
  readonly retryAfterSec: number | undefined;
  readonly htmlBody: boolean;

  constructor(message: string, init: UpstreamFailureInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'UpstreamFailure';
    this.kind = init.kind;
    this.phase = init.phase;
    this.status = init.status;
    this.errorCode = init.errorCode;
    this.upstreamMessage = init.upstreamMessage;
    this.retryAfterSec = init.retryAfterSec;
    this.htmlBody = init.htmlBody ?? false;
  }
}

export type UpstreamPhase = UpstreamFailureInit['phase'];

/** Our own client hung up during `phase`: never the key's fault. */
export function clientClosed(phase: UpstreamPhase, cause?: unknown): UpstreamFailure {
  return new UpstreamFailure('the client closed the request', { kind: 'client_aborted', phase, ...(cause !== undefined ? { cause } : {}) });
}
