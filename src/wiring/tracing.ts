/**
 * OpenTelemetry tracing's wiring (docs/tracing.md): off unless the OTEL_* settings name an exporter, and then the
 * SDK is loaded here, at start. With tracing off nothing of it is imported, and the app adds no hook for it.
 */
import type { Config } from '../config/config.js';
import { tracingSettings, type TracingSettings } from '../config/tracing-env.js';
import type { RequestTracer } from '../http/request-trace.js';

export interface Tracing {
  tracer: RequestTracer;
  settings: TracingSettings;
}

export async function createTracing(config: Config, onExportError: (err: unknown) => void): Promise<Tracing | undefined> {
  const settings = tracingSettings(config);
  if (settings === undefined) return undefined;
  const { startTracing } = await import('../observability/tracing.js');
  return { tracer: startTracing(settings, { upstreamUrl: config.ONDEMAND_BASE_URL, onExportError }), settings };
}

/** The start-up line saying where spans go (never the exporter's headers: they may carry a token). */
export function tracingSummary(settings: TracingSettings): string {
  const where = settings.exporters.map((e) => (e.kind === 'otlp' ? `OTLP ${e.protocol} to ${e.url}` : 'the console'));
  return `tracing on: spans to ${where.join(' and ')}, sampler ${settings.sampler}${settings.captureMessageContent ? ', message content captured' : ''}`;
}
