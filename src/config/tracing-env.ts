/**
 * OpenTelemetry tracing from the standard OTEL_* settings (docs/tracing.md). Tracing is off unless they name an
 * exporter: OTEL_TRACES_EXPORTER=otlp (or console), or, with OTEL_TRACES_EXPORTER unset, an OTLP endpoint
 * (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT). OTEL_SDK_DISABLED=true and
 * OTEL_TRACES_EXPORTER=none turn it off whatever else is set. The zod fields below validate each setting at start;
 * `tracingSettings` decides from the validated values (pure, tested as a table in tracing-env.test.ts).
 */
import { z } from 'zod';

export const TRACE_EXPORTERS = ['otlp', 'console', 'none'] as const;
export type TraceExporterName = (typeof TRACE_EXPORTERS)[number];
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];
export const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;
export type SamplerName = (typeof SAMPLERS)[number];

/** where an OTLP/HTTP exporter sends traces when no endpoint is set (the specification's default) */
export const DEFAULT_OTLP_TRACES_URL = 'http://localhost:4318/v1/traces';
export const DEFAULT_SERVICE_NAME = 'ondemand-gateway';

/** OTEL_TRACES_EXPORTER: a comma-separated list of exporter names */
export const traceExportersEnv = z.string().transform((v, ctx) => {
  const names = v
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  const unknown = names.filter((n) => !(TRACE_EXPORTERS as readonly string[]).includes(n));
  if (unknown.length > 0) {
    ctx.addIssue({ code: 'custom', message: `expected otlp, console or none, got "${unknown.join(', ')}" (zipkin and jaeger are not built in: send OTLP to a collector)` });
    return z.NEVER;
  }
  return [...new Set(names)] as TraceExporterName[];
});

export const otlpEndpointEnv = z
  .string()
  .trim()
  .refine((v) => /^https?:\/\/[^/\s]+(\/\S*)?$/.test(v), 'expected an http(s) URL such as http://collector:4318');

export const otlpProtocolEnv = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v): v is OtlpProtocol => (OTLP_PROTOCOLS as readonly string[]).includes(v), {
    message: 'expected http/protobuf or http/json (grpc is not built in: collectors take OTLP over HTTP on port 4318)',
  })
  .transform((v) => v as OtlpProtocol);

/** The OTEL_* settings tracing reads, as config.ts validated them (undefined: not set). */
export interface TracingEnv {
  OTEL_SDK_DISABLED: boolean;
  OTEL_TRACES_EXPORTER?: TraceExporterName[] | undefined;
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string | undefined;
  OTEL_EXPORTER_OTLP_PROTOCOL?: OtlpProtocol | undefined;
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?: OtlpProtocol | undefined;
  OTEL_SERVICE_NAME: string;
  OTEL_TRACES_SAMPLER: SamplerName;
  OTEL_TRACES_SAMPLER_ARG?: number | undefined;
  OTEL_BSP_SCHEDULE_DELAY?: number | undefined;
  OTEL_BSP_EXPORT_TIMEOUT?: number | undefined;
  OTEL_BSP_MAX_QUEUE_SIZE?: number | undefined;
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE?: number | undefined;
  OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT?: number | undefined;
  OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: boolean;
}

export type TraceExporter = { kind: 'otlp'; protocol: OtlpProtocol; url: string } | { kind: 'console' };

export interface TracingSettings {
  exporters: TraceExporter[];
  serviceName: string;
  sampler: SamplerName;
  /** the ratio of the traceidratio samplers, in [0, 1] */
  samplerRatio: number;
  /** the batch span processor's knobs that were set (the SDK's defaults otherwise) */
  batch: { scheduledDelayMillis?: number; exportTimeoutMillis?: number; maxQueueSize?: number; maxExportBatchSize?: number };
  /** the longest string attribute value kept (longer ones are cut); undefined: no limit */
  attributeValueLengthLimit: number | undefined;
  /** prompt and answer text on the spans (off unless the operator opts in) */
  captureMessageContent: boolean;
}

/** Tracing's settings, or undefined when tracing is off. */
export function tracingSettings(env: TracingEnv): TracingSettings | undefined {
  if (env.OTEL_SDK_DISABLED) return undefined;
  const endpointSet = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined || env.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined;
  // unset, the specification's default exporter is otlp: taken only when an endpoint says where traces go
  const names = env.OTEL_TRACES_EXPORTER ?? (endpointSet ? ['otlp'] : []);
  const exporters: TraceExporter[] = [];
  for (const name of names) {
    if (name === 'otlp')
      exporters.push({ kind: 'otlp', protocol: env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf', url: otlpTracesUrl(env) });
    else if (name === 'console') exporters.push({ kind: 'console' });
  }
  if (exporters.length === 0) return undefined;
  const batch: TracingSettings['batch'] = {};
  if (env.OTEL_BSP_SCHEDULE_DELAY !== undefined) batch.scheduledDelayMillis = env.OTEL_BSP_SCHEDULE_DELAY;
  if (env.OTEL_BSP_EXPORT_TIMEOUT !== undefined) batch.exportTimeoutMillis = env.OTEL_BSP_EXPORT_TIMEOUT;
  if (env.OTEL_BSP_MAX_QUEUE_SIZE !== undefined) batch.maxQueueSize = env.OTEL_BSP_MAX_QUEUE_SIZE;
  if (env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE !== undefined) batch.maxExportBatchSize = env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE;
  return {
    exporters,
    serviceName: env.OTEL_SERVICE_NAME,
    sampler: env.OTEL_TRACES_SAMPLER,
    samplerRatio: env.OTEL_TRACES_SAMPLER_ARG ?? 1,
    batch,
    attributeValueLengthLimit: env.OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT,
    captureMessageContent: env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
  };
}

/** The traces endpoint as the specification derives it: the per-signal URL as given, else the base URL + v1/traces. */
export function otlpTracesUrl(env: Pick<TracingEnv, 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'>): string {
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined) return `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
  return DEFAULT_OTLP_TRACES_URL;
}
