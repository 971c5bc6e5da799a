/**
 * The observability JSON APIs, mounted under /admin (behind the admin key, checked by the app's auth hook), and
 * GET /metrics (behind the admin key too unless METRICS_PUBLIC=true).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { invalidRequest } from '../core/errors.js';
import type { GatewayMetrics } from './metrics.js';
import type { RecentErrors } from './recent-errors.js';
import { LATENCY_BOUNDS_MS, type TrafficSeries } from './timeseries.js';
import type { UsageRecorder } from './usage.js';

export interface ObservabilityRouteDeps {
  usage: UsageRecorder;
  traffic: TrafficSeries;
  errors: RecentErrors;
  now?: () => number;
}

const usageQuery = z.object({ days: z.coerce.number().int().min(1).max(366).default(7) });
const seriesQuery = z.object({ minutes: z.coerce.number().int().min(1).max(60).default(60) });
const errorsQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).default(50) });

function parse<T>(schema: z.ZodType<T>, query: unknown): T {
  const parsed = schema.safeParse(query ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const param = issue?.path.join('.') ?? 'query';
  throw invalidRequest(`invalid query parameter ${param}: ${issue?.message ?? 'bad value'}`, param);
}

export async function observabilityAdminRoutes(app: FastifyInstance, deps: ObservabilityRouteDeps): Promise<void> {
  const now = deps.now ?? Date.now;
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('cache-control', 'no-store');
    return payload;
  });

  app.get('/usage', async (req) => {
    const { days } = parse(usageQuery, req.query);
    return deps.usage.report(days);
  });

  app.get('/stats/timeseries', async (req) => {
    const { minutes } = parse(seriesQuery, req.query);
    const points = deps.traffic.points(now()).slice(-minutes);
    return { object: 'timeseries', bucketMs: 60_000, minutes, latencyBoundsMs: LATENCY_BOUNDS_MS.filter(Number.isFinite), points };
  });

  app.get('/errors/recent', async (req) => {
    const { limit } = parse(errorsQuery, req.query);
    return { object: 'list', data: deps.errors.list(limit) };
  });
}

export function metricsRoute(metrics: GatewayMetrics) {
  return (app: FastifyInstance): void => {
    app.get('/metrics', async (_req, reply) => {
      const { contentType, body } = await metrics.render();
      return reply.header('cache-control', 'no-store').type(contentType).send(body);
    });
  };
}
