/**
 * Everything an operator sees of a running gateway, built once per gateway by `createObservability` and fed
 * from the app's onResponse hook (`observe`), the pool (change events, key list, leases and call outcomes) and the
 * streaming loop (`streamProbe`). Serves /metrics, /admin/usage, /admin/stats/timeseries, /admin/errors/recent.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { presentedKey } from '../http/auth.js';
import type { RequestRecord } from '../http/app.js';
import { fingerprintKey } from '../ondemand/key-fingerprint.js';
import type { UsageStore } from '../store/types.js';
import { GatewayMetrics, type PoolView, type StreamProbe } from './metrics.js';
import { RecentErrors } from './recent-errors.js';
import { redactPath } from '../http/redact.js';
import { OPERATIONAL_PATH } from './operational.js';
import { metricsRoute, observabilityAdminRoutes } from './routes.js';
import { TrafficSeries } from './timeseries.js';
import { UsageRecorder } from './usage.js';

export type { StreamProbe } from './metrics.js';

export interface ObservabilityOptions {
  pool: PoolView;
  /** where usage is counted (the caller's: not closed here) */
  usageStore: UsageStore;
  /** days of usage kept (USAGE_RETENTION_DAYS; 0: all) */
  usageRetentionDays: number;
  /** default 10 s */
  usageFlushMs?: number;
  /** process metrics (CPU, memory, event loop); default true */
  defaultMetrics?: boolean;
  onError?: (err: unknown, context: string) => void;
}

export class Observability {
  readonly metrics: GatewayMetrics;
  readonly usage: UsageRecorder;
  readonly traffic = new TrafficSeries(60);
  readonly errors = new RecentErrors(100);
  /** routes to register on the app: /metrics and the /admin observability APIs */
  readonly plugins: Array<(app: FastifyInstance) => Promise<void> | void>;

  constructor(opts: ObservabilityOptions) {
    this.metrics = new GatewayMetrics({ defaultMetrics: opts.defaultMetrics ?? true });
    this.metrics.watchPool(opts.pool);
    this.usage = new UsageRecorder({
      store: opts.usageStore,
      flushIntervalMs: opts.usageFlushMs ?? 10_000,
      retentionDays: opts.usageRetentionDays,
      ...(opts.onError ? { onError: opts.onError } : {}),
    });
    const deps = { usage: this.usage, traffic: this.traffic, errors: this.errors };
    this.plugins = [metricsRoute(this.metrics), (app) => app.register(observabilityAdminRoutes, { prefix: '/admin', ...deps })];
  }

  readonly streamProbe = (): StreamProbe => this.metrics.streamProbe();

  /** Called once per request from the app's onResponse hook. Never throws. */
  readonly observe = (request: FastifyRequest, reply: FastifyReply): void => {
    const gw: RequestRecord = request.gw ?? {};
    const rawPath = pathOf(request.url);
    const status = reply.statusCode;
    const durationMs = reply.elapsedTime;
    const tokensIn = gw.usage?.inputTokens ?? 0;
    const tokensOut = gw.usage?.outputTokens ?? 0;
    this.metrics.recordRequest({
      route: request.routeOptions.url ?? 'unmatched',
      model: gw.model,
      status,
      durationMs,
      ttftMs: gw.ttftMs,
      tokensIn,
      tokensOut,
    });
    // redaction never touches the first segment OPERATIONAL_PATH looks at (too short to look like a secret), so the raw
    // path gives the same answer; the redacted one is built only for the recent-errors list
    if (OPERATIONAL_PATH.test(rawPath)) return;
    const now = Date.now();
    const failed = status >= 400 || gw.outcome === 'error';
    this.traffic.record({ at: now, status, failed: gw.outcome === 'error', durationMs, ttftMs: gw.ttftMs, tokensIn, tokensOut });
    if (failed) {
      this.errors.push({
        at: new Date(now).toISOString(),
        requestId: request.id,
        method: request.method,
        path: redactPath(rawPath),
        status,
        code: gw.errorCode ?? null,
        model: gw.model ?? null,
        upstreamKey: gw.upstreamKey ?? null,
        attempts: gw.attempts ?? null,
        durationMs: Math.round(durationMs),
      });
    }
    if (gw.model !== undefined) {
      this.usage.record({
        at: now,
        model: gw.model,
        client: clientLabel(request, gw),
        upstreamKey: gw.upstreamKey ?? '-',
        tokensIn,
        tokensOut,
        error: failed,
      });
    }
  };

  async close(): Promise<void> {
    await this.usage.close();
    this.metrics.close();
  }
}

export function createObservability(opts: ObservabilityOptions): Observability {
  return new Observability(opts);
}

/** A client key without a name (PRIVATE_KEY) as usage names it: "c:" + 8 hex digits of its sha256, never the key. */
export function clientFingerprint(key: string): string {
  return `c:${fingerprintKey(key).slice(2)}`;
}

function clientLabel(request: FastifyRequest, gw: RequestRecord): string {
  if (gw.clientName !== undefined) return gw.clientName;
  if (gw.clientKey === undefined || gw.clientKey < 0) return 'anonymous';
  // the auth hook's digest of the key: the same sha256 clientFingerprint takes its 8 hex digits from
  if (gw.keyDigest !== undefined) return digestLabel(gw.keyDigest);
  const key = presentedKey(request.headers);
  return key === undefined ? 'anonymous' : clientFingerprint(key);
}

/**
 * The label of a key digest, kept with the digest: the auth hook's digests are shared between the requests presenting
 * one key (src/runtime/digest-memo.ts), so a client's label is one string rather than a new one per request.
 */
const digestLabels = new WeakMap<Buffer, string>();
function digestLabel(digest: Buffer): string {
  let label = digestLabels.get(digest);
  if (label === undefined) {
    label = `c:${digest.toString('hex', 0, 4)}`;
    digestLabels.set(digest, label);
  }
  return label;
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}
