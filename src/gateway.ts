/**
 * The composition root: builds every part from a validated Config and wires them together. main.ts, the demo,
 * the tests and the benchmark all start the gateway through `startGateway`.
 */
import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import { Gauge } from 'prom-client';
import type { Config } from './config/config.js';
import { ConfigFileSource } from './config/file.js';
import { ANSWER_STAGES } from './core/answer.js';
import { Engine } from './core/engine.js';
import { ReasoningSeal, reasoningSecretFromKeys } from './core/sealed-reasoning.js';
import { loadTokenizer } from './core/tokens.js';
import { randomToken } from './runtime/random-id.js';
import { frontEnds } from './frontends/index.js';
import { frontEndRoutes } from './frontends/runner.js';
import { StoredStateStep } from './frontends/responses/stored-state.js';
import { storedStateRoutes } from './frontends/responses/stored-routes.js';
import { StoredStateMetrics, storedStateAdminRoutes } from './observability/stored-state.js';
import { buildApp } from './http/app.js';
import { KeyChecker } from './http/auth.js';
import { IdleGc } from './runtime/idle-gc.js';
import { InFlight, drainAndClose } from './http/inflight.js';
import { modelRoutes } from './http/models-routes.js';
import { KEEP_ALIVE_MS, OnDemandClient, toFailure } from './upstream/client.js';
import { createModelLayer, type ModelLayer } from './wiring/models.js';
import { SessionPool, sessionsCreatedWhenNeeded } from './upstream/session-pool.js';
import { keyAdminRoutes } from './http/admin-keys.js';
import { startHealthChecks, type HealthChecker } from './keypool/health.js';
import type { KeyPool } from './keypool/pool.js';
import { createKeyPool } from './wiring/key-pool.js';
import type { CallOutcome } from './keypool/types.js';
import { clientKeyAdminRoutes } from './http/admin-client-keys.js';
import { resolveDataDir, unusableMount } from './store/data-dir.js';
import { applyConfigReloads } from './wiring/reload.js';
import { openSharedState } from './wiring/state.js';
import { createAuthGuard, weakKeyWarnings } from './wiring/auth-throttle.js';
import { dashboardRoutes } from './dashboard/routes.js';
import { createObservability, type Observability } from './observability/index.js';
import { appSettings } from './wiring/settings.js';

export interface GatewayOptions {
  /** where pino writes (tests capture it); stdout by default */
  logStream?: NodeJS.WritableStream;
}

export interface Gateway {
  app: FastifyInstance;
  pool: KeyPool;
  engine: Engine;
  client: OnDemandClient;
  /** completions and streams in flight (the shutdown drain waits for them) */
  inflight: InFlight;
  /** metrics, usage, the last hour's traffic and recent errors (src/observability) */
  observability: Observability;
  /** the live model catalogue, planner and media preparer (src/wiring/models.ts) */
  models: ModelLayer;
  /** CONFIG_FILE when set: reload() on SIGHUP (main.ts) */
  configFile: ConfigFileSource | undefined;
  /** the address after listen() */
  url: string;
  listen(): Promise<string>;
  /** stop accepting, let streams in flight finish up to SHUTDOWN_GRACE_MS, flush state */
  close(): Promise<void>;
}

export async function startGateway(config: Config, opts: GatewayOptions = {}): Promise<Gateway> {
  // nothing heavy may load on the request path: a synchronous load there stops every stream in flight
  loadTokenizer();
  const configFile = config.CONFIG_FILE === undefined ? undefined : ConfigFileSource.load(config.CONFIG_FILE, config);
  const client = new OnDemandClient({
    baseUrl: config.ONDEMAND_BASE_URL,
    userAgent: config.USER_AGENT,
    connectTimeoutMs: config.CONNECT_TIMEOUT_MS,
    firstByteTimeoutMs: config.FIRST_BYTE_TIMEOUT_MS,
    idleTimeoutMs: config.IDLE_TIMEOUT_MS,
    connections: config.UPSTREAM_CONNECTIONS,
    ...(config.PLUGIN_TIMEOUT_MS > 0 ? { pluginTimeoutMs: config.PLUGIN_TIMEOUT_MS } : {}),
  });
  const probe = async (key: string, signal: AbortSignal): Promise<CallOutcome> => {
    const started = performance.now();
    try {
      await client.createSession(key, signal);
      return { ok: true, latencyMs: performance.now() - started };
    } catch (err) {
      return { ok: false, failure: toFailure(err, 'probe', signal.aborted ? signal : undefined) };
    }
  };
  // the app's logger once it exists; pool restore errors before that go to stderr
  let log: { warn: (obj: object, msg: string) => void; info: (obj: object, msg: string) => void } = {
    warn: (obj, msg) => console.error(msg, obj),
    info: () => undefined,
  };
  // REDIS_URL: state shared by the replicas in Redis; otherwise the SQLite file in DATA_DIR (src/wiring/state.ts)
  const shared = await openSharedState(config, { fileClientKeys: configFile?.current.clientKeys, onError: (err, context) => log.warn({ err }, context) });
  const store = shared.store;
  const pool = await createKeyPool({
    config,
    store,
    peers: shared.peers,
    probe,
    fileKeys: configFile?.upstreamKeys(),
    onError: (err, context) => log.warn({ err }, `key pool: ${context}`),
  });
  shared.attachPool(pool);
  const obs = createObservability({
    pool,
    usageStore: shared.usageStore,
    usageRetentionDays: config.USAGE_RETENTION_DAYS,
    onError: (err, context) => log.warn({ err }, context),
  });
  const health: HealthChecker = startHealthChecks({
    pool,
    intervalSec: config.HEALTH_CHECK_INTERVAL,
    concurrency: config.HEALTH_CHECK_CONCURRENCY,
    probeTimeoutMs: Math.min(30_000, config.FIRST_BYTE_TIMEOUT_MS),
  });
  // live catalogue, auto routing, fallbacks, per-model settings, media (docs/models.md)
  const knownKeys = (): string[] => [...config.ONDEMAND_APIKEYS, ...(configFile?.upstreamKeys() ?? []).map((k) => (typeof k === 'string' ? k : k.key))];
  const models = createModelLayer(config, {
    client,
    pool,
    knownKeys,
    fileModels: configFile?.current['models'],
  });
  // the reasoning clients send back opens on every replica and after a restart (docs/tools.md)
  const reasoningSecret = config.REASONING_SECRET ?? reasoningSecretFromKeys(knownKeys());
  const reasoningSeal = ReasoningSeal.fromSecret(reasoningSecret ?? randomToken(32, 'hex'));
  const router = models.router;
  const sessions =
    config.SESSION_POOL_SIZE > 0
      ? new SessionPool({
          client,
          size: config.SESSION_POOL_SIZE,
          ttlMs: config.SESSION_POOL_TTL_SEC * 1000,
          onError: (err, fp) => log.warn({ err, key: fp }, 'session pool: refill failed'),
        })
      : undefined;
  const engine = new Engine({
    settings: {
      maxAttempts: config.MAX_ATTEMPTS,
      retryDeadlineMs: config.RETRY_DEADLINE_MS,
      sameKey: { baseDelayMs: config.RETRY_BACKOFF_MS, maxDelayMs: Math.max(config.RETRY_BACKOFF_MS, config.RETRY_BACKOFF_MAX_MS), maxRetryAfterMs: config.ALL_KEYS_OUT_WAIT_MS },
      upstreamMaxTokens: config.UPSTREAM_MAX_TOKENS,
    },
    leaser: pool,
    upstream: client,
    sessions: sessions ?? sessionsCreatedWhenNeeded(client),
    planner: models.planner,
    prepareSession: models.prepareSession,
    stages: ANSWER_STAGES,
    now: () => performance.now(),
    random: Math.random,
    plugins: { webSearchId: config.WEB_SEARCH_PLUGIN_ID, allowed: config.PLUGIN_IDS_ALLOWED, webSearchWhenOffered: config.WEB_SEARCH_WHEN_OFFERED },
  });
  const clientKeys = new KeyChecker(configFile?.clientKeys() ?? config.PRIVATE_KEY);
  const adminKeys = new KeyChecker(config.ADMIN_KEY.length > 0 ? config.ADMIN_KEY : (configFile?.clientKeys() ?? config.PRIVATE_KEY));
  let shuttingDown = false;
  const mb = (bytes: number): number => Math.round(bytes / 1048576);
  const idleGc: IdleGc | undefined =
    config.IDLE_GC_SEC > 0
      ? new IdleGc({
          idleMs: config.IDLE_GC_SEC * 1000,
          inFlight: () => inflight.size,
          // quiet for longer than the upstream sockets' keep-alive: the Pool has no live socket left to lose
          ...(config.IDLE_GC_SEC * 1000 >= KEEP_ALIVE_MS ? { beforeCollect: () => client.recycle() } : {}),
          onCollect: (before, after, ms) => log.info({ heapMb: mb(before), afterMb: mb(after), ms: Math.round(ms) }, 'idle: heap collected'),
        })
      : undefined;
  const inflight: InFlight = new InFlight(idleGc ? () => idleGc.idle() : undefined);
  new Gauge({
    name: 'gateway_completions_in_flight',
    help: 'Completions in flight, streamed or not (the shutdown drain waits for these)',
    registers: [obs.metrics.registry],
    collect() {
      this.set(inflight.size);
    },
  });
  // a request without a model gets DEFAULT_MODEL, as in the original proxy, unless STRICT_MODELS asks for the 400
  const parse = config.STRICT_MODELS ? {} : { defaultModel: config.DEFAULT_MODEL };
  const runner = {
    pingMs: config.KEEPALIVE_PING_MS,
    limits: { maxMessages: config.MAX_MESSAGES, maxMessageChars: config.MAX_MESSAGE_CHARS },
    inflight,
    streamProbe: obs.streamProbe,
  };
  // stored responses, conversations and OnDemand session continuation (docs/stored-state.md)
  const storedSettings = { enabled: config.RESPONSES_STORE, maxBytes: config.RESPONSES_MAX_BYTES, continueSessions: config.SESSION_CONTINUATION };
  const storedMetrics = new StoredStateMetrics(obs.metrics.registry, shared.conversations);
  const stored = new StoredStateStep(shared.conversations, storedSettings, storedMetrics);
  // failed authentications counted per client address; past AUTH_FAILURE_LIMIT the address waits (docs in README)
  const authGuard = createAuthGuard(config, shared.redis, obs.metrics.registry);
  const app = buildApp(appSettings(config), {
    pool,
    clientKeys,
    adminKeys,
    ...(authGuard.counter ? { authFailures: authGuard.counter } : {}),
    clientAccess: shared.access,
    ...(opts.logStream ? { logStream: opts.logStream } : {}),
    isShuttingDown: () => shuttingDown,
    observe: obs.observe,
    plugins: [
      ...obs.plugins,
      ...(config.DASHBOARD ? [dashboardRoutes()] : []),
      modelRoutes(router),
      frontEndRoutes(engine, frontEnds({ parse, responses: { ...parse, reasoningSeal }, stored, models: router }), runner),
      storedStateRoutes(shared.conversations, storedSettings),
      storedStateAdminRoutes(storedMetrics, { ...storedSettings, retentionDays: config.RESPONSES_RETENTION_DAYS }),
      (scope) => scope.register(keyAdminRoutes, { prefix: '/admin', pool }),
      (scope) => scope.register(clientKeyAdminRoutes, { prefix: '/admin', access: shared.access }),
    ],
  });
  log = app.log;
  const mountProblem = config.REDIS_URL === undefined ? unusableMount(config.DATA_DIR) : undefined;
  if (mountProblem !== undefined)
    app.log.warn({ dataDir: resolveDataDir(config.DATA_DIR) }, `${mountProblem}: state is kept in the data dir instead and is lost with the container`);
  shared.setLogger(app.log);
  if (reasoningSecret === undefined) app.log.warn('REASONING_SECRET is not set and no upstream key was configured at start: reasoning items sealed now open in this process only');
  await models.start(app.log);
  if (configFile) {
    applyConfigReloads(configFile, { config, pool, clientKeys, adminKeys: config.ADMIN_KEY.length > 0 ? undefined : adminKeys, access: shared.access, models, log: app.log });
  }
  const keysToJudge = [
    ...(configFile?.clientKeys() ?? config.PRIVATE_KEY).map((key) => ({ key, setting: configFile ? 'the config file' : 'PRIVATE_KEY' })),
    ...config.ADMIN_KEY.map((key) => ({ key, setting: 'ADMIN_KEY' })),
    ...config.CLIENT_KEYS.map((k) => ({ key: k.key, setting: 'CLIENT_KEYS' })),
  ];
  for (const line of weakKeyWarnings(keysToJudge)) app.log.warn(line);
  if (clientKeys.size === 0 && shared.access.registry.size === 0) app.log.warn('ALLOW_NO_AUTH=true and no PRIVATE_KEY: anyone who can reach this port can use your OnDemand keys');

  const gateway: Gateway = {
    app,
    pool,
    engine,
    client,
    inflight,
    observability: obs,
    configFile,
    models,
    url: '',
    async listen() {
      const address = await app.listen({ port: config.PORT, host: config.HOST });
      gateway.url = address.replace('[::]', '127.0.0.1').replace('0.0.0.0', '127.0.0.1');
      return gateway.url;
    },
    async close() {
      if (shuttingDown) return;
      shuttingDown = true;
      configFile?.close();
      idleGc?.stop();
      models.stop();
      await health.stop();
      await drainAndClose(app, inflight, config.SHUTDOWN_GRACE_MS);
      await obs.close();
      await sessions?.stop();
      await client.close();
      await pool.close();
      authGuard.close();
      await shared.close();
    },
  };
  return gateway;
}
