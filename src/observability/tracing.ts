/**
 * OpenTelemetry tracing (docs/tracing.md): a SERVER span per API request, continuing the client's `traceparent`,
 * and a CLIENT span per upstream attempt under it, whose own `traceparent` goes upstream with the attempt's calls.
 * Loaded only when the OTEL_* settings name an exporter (src/wiring/tracing.ts): with tracing off, neither this
 * module nor the SDK is in the process. Spans are made with explicit parents, so no context manager (and no
 * AsyncLocalStorage) runs on the request path; the attributes come from genai-attributes.ts. The image keeps of the
 * SDK only the files this module loads in deploy/prune.mjs's probe: what is added here belongs in that probe too.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { setGlobalErrorHandler, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import type { SamplerName, TraceExporter, TracingSettings } from '../config/tracing-env.js';
import { AnswerCollector } from '../core/answer.js';
import type { AttemptStart, CallOutcome, ObservedAttempt } from '../core/ports.js';
import type { GatewayEvent, GatewayRequest } from '../core/types.js';
import { redactPath } from '../http/redact.js';
import type { RequestTrace, RequestTracer } from '../http/request-trace.js';
import {
  attemptAttributes,
  attemptEnd,
  attemptSpanName,
  completionAttributes,
  completionSpanName,
  httpRequestAttributes,
  httpSpanName,
  inputMessages,
  outputMessages,
  requestEndAttributes,
  requestFailed,
} from './genai-attributes.js';
import { OPERATIONAL_PATH } from './operational.js';

export interface TracingOptions {
  /** OnDemand's origin (ONDEMAND_BASE_URL): the attempt spans' server.address and server.port */
  upstreamUrl: string;
  /** an export that failed (the collector unreachable, or refusing): called at most once a minute */
  onExportError: (err: unknown) => void;
}

const EXPORT_ERROR_EVERY_MS = 60_000;

export function startTracing(settings: TracingSettings, opts: TracingOptions): RequestTracer {
  const resource = detectResources({ detectors: [envDetector] }).merge(resourceFromAttributes({ 'service.name': settings.serviceName }));
  const provider = new TracerProvider({
    resource,
    sampler: samplerFor(settings.sampler, settings.samplerRatio),
    ...(settings.attributeValueLengthLimit === undefined ? {} : { spanLimits: { attributeValueLengthLimit: settings.attributeValueLengthLimit } }),
    spanProcessors: settings.exporters.map((e) => processorFor(e, settings.batch)),
  });
  let lastExportError = -Infinity;
  // the SDK reports a failed export to one handler for the whole process (the last gateway started sets it)
  setGlobalErrorHandler((err) => {
    const now = Date.now();
    if (now - lastExportError < EXPORT_ERROR_EVERY_MS) return;
    lastExportError = now;
    opts.onExportError(err);
  });
  const shared: TraceDeps = {
    tracer: provider.getTracer('ondemand-gateway'),
    propagator: new W3CTraceContextPropagator(),
    upstream: new URL(opts.upstreamUrl),
    capture: settings.captureMessageContent,
  };
  return {
    start(request, reply) {
      const q = request.url.indexOf('?');
      const path = q < 0 ? request.url : request.url.slice(0, q);
      if (OPERATIONAL_PATH.test(path)) return undefined;
      const view = {
        method: request.method,
        route: request.routeOptions.url,
        path: redactPath(path),
        clientAddress: request.ip,
        userAgent: request.headers['user-agent'],
        httpVersion: request.raw.httpVersion,
      };
      const parent = shared.propagator.extract(ROOT_CONTEXT, request.headers, defaultTextMapGetter);
      const span = shared.tracer.startSpan(httpSpanName(view), { kind: SpanKind.SERVER, attributes: httpRequestAttributes(view) }, parent);
      return new SpanRequestTrace(span, request, reply, shared);
    },
    close: () => provider.shutdown(),
  };
}

interface TraceDeps {
  tracer: Tracer;
  propagator: W3CTraceContextPropagator;
  upstream: URL;
  capture: boolean;
}

/** One request's span. It ends once the response is closed and the completion (if one started) has settled. */
class SpanRequestTrace implements RequestTrace {
  readonly answerTap: ((events: readonly GatewayEvent[]) => void) | undefined;
  /** what must still happen before the span ends: the response's close, and each completion's settling */
  private open = 1;
  private completionRan = false;
  private readonly context: Context;
  private readonly answer: AnswerCollector | undefined;

  constructor(
    private readonly span: Span,
    private readonly request: FastifyRequest,
    private readonly reply: FastifyReply,
    private readonly deps: TraceDeps,
  ) {
    this.context = trace.setSpan(ROOT_CONTEXT, span);
    if (deps.capture) {
      const answer = new AnswerCollector();
      this.answer = answer;
      this.answerTap = (events) => {
        for (const event of events) answer.add(event);
      };
    }
    reply.raw.once('close', () => this.release());
  }

  completionStarted(req: GatewayRequest): void {
    this.open++;
    this.completionRan = true;
    this.span.updateName(completionSpanName(req));
    this.span.setAttributes(completionAttributes(req));
    if (this.deps.capture) this.span.setAttribute('gen_ai.input.messages', inputMessages(req.messages));
  }

  completionSettled(): void {
    this.release();
  }

  attemptStarted(start: AttemptStart): ObservedAttempt {
    const span = this.deps.tracer.startSpan(attemptSpanName(start), { kind: SpanKind.CLIENT, attributes: attemptAttributes(start, this.deps.upstream) }, this.context);
    const headers: Record<string, string> = {};
    this.deps.propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headers, defaultTextMapSetter);
    return {
      headers,
      ended: (outcome: CallOutcome) => {
        const end = attemptEnd(outcome);
        span.setAttributes(end.attributes);
        if (end.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: end.error });
        span.end();
      },
    };
  }

  private release(): void {
    if (--this.open > 0) return;
    const facts = this.request.gw;
    const status = this.reply.statusCode;
    this.span.setAttributes(requestEndAttributes(facts, status));
    if (this.answer !== undefined && this.completionRan) this.span.setAttribute('gen_ai.output.messages', outputMessages(this.answer.result()));
    if (requestFailed(facts, status)) this.span.setStatus({ code: SpanStatusCode.ERROR, message: facts.errorCode ?? String(status) });
    this.span.end();
  }
}

function samplerFor(name: SamplerName, ratio: number): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}

/**
 * OTLP batches its spans; the console exporter writes each span as it ends (the specification's pairing). The
 * OTLP exporters read the rest of their settings from the environment themselves: OTEL_EXPORTER_OTLP_HEADERS,
 * _TIMEOUT, _COMPRESSION, the certificate files, and their _TRACES_ forms.
 */
function processorFor(exporter: TraceExporter, batch: TracingSettings['batch']): SpanProcessor {
  if (exporter.kind === 'console') return new SimpleSpanProcessor({ exporter: new ConsoleSpanExporter() });
  const otlp = exporter.protocol === 'http/json' ? new OtlpJsonExporter({ url: exporter.url }) : new OtlpProtobufExporter({ url: exporter.url });
  return new BatchSpanProcessor({ exporter: otlp, ...batch });
}
