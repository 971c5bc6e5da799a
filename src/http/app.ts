/**
 * The HTTP layer: fastify with routing, auth, body limits and one error renderer. Front ends register their
 * routes here; everything past parsing happens in src/core/engine.ts.
 */
import Fastify, { LogController } from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest, LogLevel } from 'fastify';
import { authFailuresThrottled, type GatewayError, invalidApiKey, unknownUrl } from '../core/errors.js';
import type { FinishReason, Usage } from '../core/types.js';
import type { ClientAccessHook } from '../client-keys/access.js';
import { isDashboardPath } from '../dashboard/routes.js';
import { redactPath } from './redact.js';
import { type KeyChecker, moveQueryKey, presentedKey, presentedKeyDigest } from './auth.js';
import { sendError } from './errors.js';
import { applyLimits, serverLimits, type ServerLimitSettings } from './server-limits.js';
import { applySecurity } from './security.js';
import { lazySchemaController } from '../runtime/lazy-compilers.js';
import { lazyChildLogger } from '../runtime/lazy-request-logger.js';
import { randomToken } from '../runtime/random-id.js';
import { syncHook } from '../runtime/sync-hook.js';
import { type AuthFailureCounter, clientBucket, retryAfterSec } from '../core/auth-throttle.js';
import { trustProxySetting } from './trusted-proxies.js';
import type { TrustedProxies } from '../core/trusted-proxies.js';
import type { RequestTrace, RequestTracer } from './request-trace.js';

/** What one request did, for its single log line (and metrics). */
export interface RequestRecord {
  model?: string;
  stream?: boolean;
  endpoint?: string;
  /** the model that answered (after auto routing or a fallback; src/core/model-plan.ts) */
  answeredBy?: string;
  upstreamKey?: string;
  attempts?: number;
  ttftMs?: number;
  usage?: Usage;
  /** the answer's finish reason, when an answer was completed */
  finishReason?: FinishReason;
  errorCode?: string;
  outcome?: 'ok' | 'error' | 'aborted' | 'client_closed';
  /** index of the client key that authenticated, -1 when the path is public */
  clientKey?: number;
  /** the named client key (CLIENT_KEYS, config file, admin API) that authenticated */
  clientName?: string;
  /** sha256 of the presented client key, hashed once per request (auth, named keys, usage's fingerprint) */
  keyDigest?: Buffer;
  /** the named client key's plugin allow list (src/client-keys/keys.ts); undefined: no such limit */
  allowedPlugins?: readonly string[];
  /** the request's trace, when tracing is on (src/http/request-trace.ts) */
  trace?: RequestTrace;
}

declare module 'fastify' {
  interface FastifyRequest {
    gw: RequestRecord;
  }
}

/** What the HTTP layer reads of the configuration. */
export interface AppSettings {
  /** LOG_LEVEL */
  logLevel: LogLevel;
  /** BODY_LIMIT_BYTES */
  bodyLimitBytes: number;
  /** TRUSTED_PROXIES: whose X-Forwarded-For names the client */
  trustedProxies: TrustedProxies;
  /** PUBLIC_PATHS: served without a key, besides the ones that always are */
  publicPaths: readonly string[];
  /** METRICS_PUBLIC: /metrics without the admin key */
  metricsPublic: boolean;
  /** ALLOW_NO_AUTH: with no client key configured, serve without one */
  allowNoAuth: boolean;
  /** CORS_ORIGINS */
  corsOrigins: readonly string[];
  limits: ServerLimitSettings;
}

export interface AppDeps {
  /** the key pool, for /readyz: how many keys could serve now */
  pool: { usableCount(): number };
  clientKeys: KeyChecker;
  adminKeys: KeyChecker;
  /** named client keys with limits (src/client-keys/access.ts) */
  clientAccess: ClientAccessHook;
  /** pino destination for tests; defaults to stdout */
  logStream?: NodeJS.WritableStream;
  /** more routes (admin, dashboard, the front ends), registered after auth is in place */
  plugins: Array<(app: FastifyInstance) => Promise<void> | void>;
  /** called once per request as it finishes (metrics, usage, the dashboard's charts); must not throw */
  observe: (request: FastifyRequest, reply: FastifyReply) => void;
  /** readiness beyond "a key is usable" (true while shutting down) */
  isShuttingDown: () => boolean;
  /** failed authentications counted per client address (src/core/auth-throttle.ts); undefined: not counted */
  authFailures?: AuthFailureCounter;
  /** traces requests (OpenTelemetry, docs/tracing.md); undefined: tracing is off and no hook is added for it */
  tracer?: RequestTracer;
}

const ALWAYS_PUBLIC = new Set(['/', '/healthz', '/readyz', '/favicon.ico']);
const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** The hooks run in the order they are added: CORS preflights before auth, auth before the limits that count per key. */
export function buildApp(settings: AppSettings, deps: AppDeps): FastifyInstance {
  const app = createFastify(settings, deps.logStream);
  app.decorateRequest('gw', null as unknown as RequestRecord);
  applySecurity(app, settings);
  addAuthHook(app, settings, deps);
  if (deps.tracer !== undefined) addTracingHook(app, deps.tracer);
  applyLimits(app, settings.limits, deps.isShuttingDown);
  addClientAccessHook(app, deps.clientAccess);
  app.setErrorHandler((err, request, reply) => sendError(request, reply, err));
  app.setNotFoundHandler((request, reply) => sendError(request, reply, unknownUrl(request.method, redactPath(pathOf(request)))));
  addRequestEndHook(app, settings.logLevel, deps);
  addHealthRoutes(app, deps);
  for (const plugin of deps.plugins) void app.register(async (scope) => plugin(scope));
  return app;
}

function createFastify(settings: AppSettings, logStream: NodeJS.WritableStream | undefined): FastifyInstance {
  return Fastify({
    logger: {
      level: settings.logLevel,
      ...(logStream ? { stream: logStream } : {}),
      redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers["x-goog-api-key"]', 'req.headers.apikey'], censor: '[redacted]' },
    },
    bodyLimit: settings.bodyLimitBytes,
    logController: new LogController({ disableRequestLogging: true }),
    // the request's child logger is built on its first line, not for every request (src/runtime/lazy-request-logger.ts)
    childLoggerFactory: lazyChildLogger,
    // the client address (the auth throttle counts by it) from X-Forwarded-For only behind the proxies named
    trustProxy: trustProxySetting(settings.trustedProxies),
    return503OnClosing: false, // limits.ts refuses new work while draining, OpenAI-shaped
    ...serverLimits(settings.limits),
    requestIdHeader: false,
    // fastify keeps the URL it was given as originalUrl: that copy loses the key too
    rewriteUrl: (req) => {
      const url = moveQueryKey(req);
      if (url !== req.url) (req as { originalUrl?: string }).originalUrl = url;
      return url;
    },
    schemaController: lazySchemaController, // ajv / fast-json-stringify only if a route declares a schema
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      const id = Array.isArray(incoming) ? incoming[0] : incoming;
      // 16 fresh random bytes as 32 hex digits, from the id pool (src/runtime/random-id.ts)
      return id !== undefined && REQUEST_ID.test(id) ? id : `req_${randomToken(16, 'hex')}`;
    },
  });
}

function addAuthHook(app: FastifyInstance, settings: AppSettings, deps: AppDeps): void {
  const publicPaths = new Set([...ALWAYS_PUBLIC, ...settings.publicPaths, ...(settings.metricsPublic ? ['/metrics'] : [])]);
  // read per request: the client keys can change at runtime (CONFIG_FILE reload)
  const openGateway = (): boolean => settings.allowNoAuth && deps.clientKeys.size === 0;
  const guard = deps.authFailures;
  // callback style: a request that authenticates (nearly all of them) passes without a promise
  app.addHook('onRequest', (request, reply, done) => {
    request.gw = {};
    void reply.header('x-request-id', request.id);
    const path = pathOf(request);
    // the dashboard's page and assets load without a key; the admin APIs it calls need the admin key
    if (publicPaths.has(path) || isDashboardPath(path)) {
      request.gw.clientKey = -1;
      return done();
    }
    // an address past the limit is refused whatever key it sends: a guesser learns nothing until it cools down
    // (no failure counted anywhere, the usual case: the address is not even parsed)
    const wait = guard === undefined || guard.throttle.idle ? 0 : guard.throttle.check(clientBucket(request.ip), Date.now());
    if (wait > 0) return done(authFailuresThrottled(wait));
    let refusal: GatewayError | undefined;
    try {
      refusal = authenticate(request, path);
    } catch (err) {
      return done(err as Error);
    }
    if (refusal === undefined) return done();
    // no key at all is not a guess (a client that forgot its key); a wrong one is counted
    if (guard === undefined || presentedKey(request.headers) === undefined) return done(refusal);
    Promise.resolve(guard.recordFailure(clientBucket(request.ip), Date.now())).then(
      (count) => {
        // past the limit already (other replicas counted too): this failure is refused as the next ones are
        const wait = retryAfterSec(count, Date.now(), guard.throttle.settingsInUse.limit + 1);
        done(wait > 0 ? authFailuresThrottled(wait) : refusal);
      },
      () => done(refusal),
    );
  });

  /** The refusal for a request whose key is wrong or missing (undefined: authenticated or open). */
  function authenticate(request: FastifyRequest, path: string): GatewayError | undefined {
    const key = presentedKey(request.headers);
    if (path.startsWith('/admin') || path === '/metrics') {
      if (deps.adminKeys.match(key) < 0) return invalidApiKey('This route needs the admin key (ADMIN_KEY).');
      return undefined;
    }
    const digest = key === undefined || key.length === 0 ? undefined : presentedKeyDigest(key);
    if (digest !== undefined) request.gw.keyDigest = digest;
    const named = deps.clientAccess.match(key, digest);
    if (named !== undefined) {
      request.gw.clientKey = deps.clientKeys.size + named.index;
      request.gw.clientName = named.name;
      return undefined;
    }
    if (openGateway()) return undefined;
    const index = deps.clientKeys.match(key, digest);
    if (index < 0) {
      const missing = request.routeOptions.config.missingKeyMessage ?? 'You did not provide an API key. Send it as `Authorization: Bearer <key>` or `X-API-KEY: <key>`.';
      return invalidApiKey(key === undefined ? missing : 'Incorrect API key provided.');
    }
    request.gw.clientKey = index;
    return undefined;
  }
}

/** A named client key's model list and limits, checked once the body is parsed. */
function addClientAccessHook(app: FastifyInstance, access: ClientAccessHook): void {
  // callback style: a request without a named client key (most of them) passes without a promise
  app.addHook('preHandler', (request, _reply, done) => {
    if (request.gw?.clientName === undefined) return done();
    access.admit(request).then(() => done(), done);
  });
}

/** A span per authenticated request (src/http/request-trace.ts); added only when tracing is on. */
function addTracingHook(app: FastifyInstance, tracer: RequestTracer): void {
  // after authentication: a refused request (a guesser's flood of them) is counted in metrics, not traced
  app.addHook('onRequest', (request, reply, done) => {
    const trace = tracer.start(request, reply);
    if (trace !== undefined) request.gw.trace = trace;
    done();
  });
}

/** As each request finishes: observability, the named key's quota settled, and its one log line. */
function addRequestEndHook(app: FastifyInstance, logLevel: LogLevel, deps: Pick<AppDeps, 'observe' | 'clientAccess'>): void {
  const logsRequests = ['trace', 'debug', 'info'].includes(logLevel);
  app.addHook(
    'onResponse',
    syncHook((request, reply) => {
      deps.observe(request, reply);
      const gw = request.gw;
      if (gw !== null) deps.clientAccess.settle(gw);
      if (gw === null || (gw.model === undefined && reply.statusCode < 400)) return;
      if (!logsRequests) return; // LOG_LEVEL above info: skip building the line (hot path)
      request.log.info(
        {
          method: request.method,
          // the route's pattern, not the URL: a raw key pasted into /admin/keys/:fp must not reach the log
          path: request.routeOptions.url ?? redactPath(pathOf(request)),
          status: reply.statusCode,
          model: gw.model,
          stream: gw.stream,
          endpoint: gw.endpoint,
          answeredBy: gw.answeredBy,
          upstreamKey: gw.upstreamKey,
          client: gw.clientName,
          attempts: gw.attempts,
          ttftMs: round(gw.ttftMs),
          durationMs: round(reply.elapsedTime),
          tokensIn: gw.usage?.inputTokens,
          tokensOut: gw.usage?.outputTokens,
          outcome: gw.outcome,
          errorCode: gw.errorCode,
        },
        'request',
      );
    }),
  );
}

function addHealthRoutes(app: FastifyInstance, deps: Pick<AppDeps, 'pool' | 'isShuttingDown'>): void {
  const root = async (): Promise<{ status: string; name: string }> => ({ status: 'ok', name: 'ondemand-gateway' });
  app.get('/', root);
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const usable = deps.pool.usableCount();
    const shuttingDown = deps.isShuttingDown();
    const ready = usable > 0 && !shuttingDown;
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', usableKeys: usable, shuttingDown });
  });
}

function pathOf(request: FastifyRequest): string {
  const q = request.url.indexOf('?');
  return q < 0 ? request.url : request.url.slice(0, q);
}

function round(n: number | undefined): number | undefined {
  return n === undefined ? undefined : Math.round(n * 10) / 10;
}
