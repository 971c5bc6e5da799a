/**
 * What the HTTP layer asks of tracing (OpenTelemetry when the OTEL_* settings name an exporter: docs/tracing.md).
 * Without a tracer the app registers no hook for it, so a request does no work for tracing at all.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AttemptObserver } from '../core/ports.js';
import type { GatewayEvent, GatewayRequest } from '../core/types.js';

export interface RequestTracer {
  /**
   * An authenticated request starts: its trace, or undefined when the request is not traced (the gateway's own
   * operational routes). The trace ends by itself once the response is closed and any completion has settled.
   */
  start(request: FastifyRequest, reply: FastifyReply): RequestTrace | undefined;
  /** export what is still buffered and stop */
  close(): Promise<void>;
}

/** One request's trace: the engine reports its upstream attempts to it (AttemptObserver). */
export interface RequestTrace extends AttemptObserver {
  /** a completion starts for the request: its operation, model and parameters (and its prompt, when captured) */
  completionStarted(request: GatewayRequest): void;
  /** the answer as it goes out; present only when the operator opted in to capturing message content */
  readonly answerTap?: ((events: readonly GatewayEvent[]) => void) | undefined;
  /** the completion is over, its facts are in request.gw (called once per completionStarted) */
  completionSettled(): void;
}
