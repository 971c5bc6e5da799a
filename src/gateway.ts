/**
 * The composition root: builds every part from a validated Config and wires them together, one named step per
 * part. Each part gets its own settings (src/wiring/settings.ts), never the Config. main.ts, the demo, the tests
 * and the benchmark all start the gateway through `startGateway`.
 */
import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import { Gauge, type Registry } from 'prom-client';
import type { Config } from './config/config.js';
import { ConfigFileSource } from './config/file.js';
import { ANSWER_STAGES } from './core/answer.js';
import { Engine } from './core/engine.js';
import { ReasoningSeal, reasoningSecretFromKeys } from './core/sealed-reasoning.js';
import { loadTokenizer } from './core/tokens.js';
import { o200kDataFile, readTiktokenTable } from './runtime/tiktoken-ranks.js';
import { randomToken } from './runtime/random-id.js';
import { frontEnds } from './frontends/index.js';
import { frontEndRoutes } from './frontends/runner.js';
import { StoredStateStep } from './frontends/responses/stored-state.js';
import { storedStateRoutes } from './frontends/responses/stored-routes.js';
import { StoredStateMetrics, storedStateAdminRoutes } from './observability/stored-state.js';
import { type AppDeps, buildApp } from './http/app.js';
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
import { openSharedState, type SharedState } from './wiring/state.js';
import { type AuthGuard, createAuthGuard, weakKeyWarnings } from './wiring/auth-throttle.js';
import { createTracing, tracingSummary } from './wiring/tracing.js';
import type { RequestTracer } from './http/request-trace.js';
import { dashboardRoutes } from './dashboard/routes.js';
import { createObservability, type Observability } from './observability/index.js';
import {
  appSettings,
  engineSettings,
  healthCheckSettings,
  parseSettings,
  pluginSettings,
  runnerSettings,
  sessionPoolSettings,
  storedStateSettings,
  upstreamClientSettings,
} from './wiring/settings.js';

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
  loadTokenizer(() => readTiktokenTable(o200kDataFile()));
  const log = new ForwardingLog();
  const configFile = config.CONFIG_FILE === undefined ? undefined : ConfigFileSource.load(config.CONFIG_FILE, config);
  const client = new OnDemandClient(upstreamClientSettings(config));
  // REDIS_URL: state shared by the replicas in Redis; otherwise the SQLite file in DATA_DIR (src/wiring/state.ts)
  const shared = await openSharedState(config, { fileClientKeys: configFile?.current.clientKeys, onError: (err, context) => log.warn({ err }, context) });
  const pool = await startKeyPool(config, { shared, client, configFile, log });
  const obs = createObservability({ pool, usageStore: shared.usageStore, usageRetentionDays: config.USAGE_RETENTION_DAYS, onError: (err, context) => log.warn({ err }, context) });
  const health = startHealthChecks({ pool, ...healthCheckSettings(config) });
  // live catalogue, auto routing, fallbacks, per-model settings, media (docs/models.md)
  const knownKeys = (): string[] => [...config.ONDEMAND_APIKEYS, ...(configFile?.upstreamKeys() ?? []).map((k) => (typeof k === 'string' ? k : k.key))];
  const models = createModelLayer(config, { client, pool, knownKeys, fileModels: configFile?.current['models'] });
  const seal = reasoningSeal(config.REASONING_SECRET, knownKeys());
  const sessionPool = createSessionPool(config, client, log);
  const engine = createEngine(config, { client, pool, models, sessionPool });
  const keys = accessKeys(config, configFile);
  let shuttingDown = false;
  const { inflight, idleGc } = trackInFlight(config.IDLE_GC_SEC, client, obs.metrics.registry, log);
  const routes = gatewayRoutes(config, { obs, shared, pool, engine, models, reasoningSeal: seal.seal, inflight });
  // failed authentications counted per client address; past AUTH_FAILURE_LIMIT the address waits (docs in README)
  const authGuard = createAuthGuard(config, shared.redis, obs.metrics.registry);
  // OpenTelemetry spans when the OTEL_* settings name an exporter (docs/tracing.md); otherwise nothing of it loads
  const tracing = await createTracing(config, (err) => log.warn({ err }, 'tracing: exporting spans failed'));
  const app = buildApp(appSettings(config), {
    pool,
    ...keys,
    ...(authGuard.counter ? { authFailures: authGuard.counter } : {}),
    ...(tracing ? { tracer: tracing.tracer } : {}),
    clientAccess: shared.access,
    ...(opts.logStream ? { logStream: opts.logStream } : {}),
    isShuttingDown: () => shuttingDown,
    observe: obs.observe,
    plugins: routes,
  });
  log.attach(app.log);
  if (tracing) app.log.info(tracingSummary(tracing.settings));
  warnAboutDataDir(config, app.log);
  shared.setLogger(app.log);
  if (seal.secretMissing) app.log.warn('REASONING_SECRET is not set and no upstream key was configured at start: reasoning items sealed now open in this process only');
  await models.start(app.log);
  if (configFile) {
    const adminKeys = config.ADMIN_KEY.length > 0 ? undefined : keys.adminKeys;
    applyConfigReloads(configFile, { config, pool, clientKeys: keys.clientKeys, adminKeys, access: shared.access, models, log: app.log });
  }
  warnAboutKeys(config, configFile, keys.clientKeys.size === 0 && shared.access.registry.size === 0, app.log);

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
      await shutDown({
        configFile,
        idleGc,
        models,
        health,
        app,
        inflight,
        graceMs: config.SHUTDOWN_GRACE_MS,
        obs,
        tracer: tracing?.tracer,
        sessionPool,
        client,
        pool,
        authGuard,
        shared,
      });
    },
  };
  return gateway;
}

type StartLog = { warn: (obj: object, msg: string) => void; info: (obj: object, msg: string) => void };

/** Where the parts report: stderr until the app's logger exists, then that logger. */
class ForwardingLog implements StartLog {
  private target: StartLog = { warn: (obj, msg) => console.error(msg, obj), info: () => undefined };

  warn(obj: object, msg: string): void {
    this.target.warn(obj, msg);
  }

  info(obj: object, msg: string): void {
    this.target.info(obj, msg);
  }

  attach(target: StartLog): void {
    this.target = target;
  }
}

/** The key pool over the shared state, with the config file's keys besides ONDEMAND_APIKEYS. */
async function startKeyPool(config: Config, p: { shared: SharedState; client: OnDemandClient; configFile: ConfigFileSource | undefined; log: StartLog }): Promise<KeyPool> {
  const pool = await createKeyPool({
    config,
    store: p.shared.store,
    peers: p.shared.peers,
    probe: sessionProbe(p.client),
    fileKeys: p.configFile?.upstreamKeys(),
    onError: (err, context) => p.log.warn({ err }, `key pool: ${context}`),
  });
  p.shared.attachPool(pool);
  return pool;
}

/** A key's health probe: can it create a session? */
function sessionProbe(client: OnDemandClient): (key: string, signal: AbortSignal) => Promise<CallOutcome> {
  return async (key, signal) => {
    const started = performance.now();
    try {
      await client.createSession(key, signal);
      return { ok: true, latencyMs: performance.now() - started };
    } catch (err) {
      return { ok: false, failure: toFailure(err, 'probe', signal.aborted ? signal : undefined) };
    }
  };
}

/** The reasoning clients send back opens on every replica and after a restart (docs/tools.md). */
function reasoningSeal(configured: string | undefined, knownKeys: string[]): { seal: ReasoningSeal; secretMissing: boolean } {
  const secret = configured ?? reasoningSecretFromKeys(knownKeys);
  return { seal: ReasoningSeal.fromSecret(secret ?? randomToken(32, 'hex')), secretMissing: secret === undefined };
}

/** Sessions created ahead of time; undefined when SESSION_POOL_SIZE is 0. */
function createSessionPool(config: Config, client: OnDemandClient, log: StartLog): SessionPool | undefined {
  const settings = sessionPoolSettings(config);
  if (settings === undefined) return undefined;
  return new SessionPool({ client, ...settings, onError: (err, fp) => log.warn({ err, key: fp }, 'session pool: refill failed') });
}

function createEngine(config: Config, p: { client: OnDemandClient; pool: KeyPool; models: ModelLayer; sessionPool: SessionPool | undefined }): Engine {
  return new Engine({
    settings: engineSettings(config),
    leaser: p.pool,
    upstream: p.client,
    sessions: p.sessionPool ?? sessionsCreatedWhenNeeded(p.client),
    planner: p.models.planner,
    prepareSession: p.models.prepareSession,
    stages: ANSWER_STAGES,
    now: () => performance.now(),
    random: Math.random,
    plugins: pluginSettings(config),
  });
}

/** The client keys (the config file's, else PRIVATE_KEY) and the admin keys (ADMIN_KEY, else the client keys). */
function accessKeys(config: Pick<Config, 'PRIVATE_KEY' | 'ADMIN_KEY'>, configFile: ConfigFileSource | undefined): { clientKeys: KeyChecker; adminKeys: KeyChecker } {
  const clientKeys = configFile?.clientKeys() ?? config.PRIVATE_KEY;
  return { clientKeys: new KeyChecker(clientKeys), adminKeys: new KeyChecker(config.ADMIN_KEY.length > 0 ? config.ADMIN_KEY : clientKeys) };
}

/** Completions in flight, which the shutdown drain waits for; with none for IDLE_GC_SEC, the heap is collected. */
function trackInFlight(idleGcSec: number, client: OnDemandClient, registry: Registry, log: StartLog): { inflight: InFlight; idleGc: IdleGc | undefined } {
  const mb = (bytes: number): number => Math.round(bytes / 1048576);
  const idleGc: IdleGc | undefined =
    idleGcSec > 0
      ? new IdleGc({
          idleMs: idleGcSec * 1000,
          inFlight: () => inflight.size,
          // quiet for longer than the upstream sockets' keep-alive: the Pool has no live socket left to lose
          ...(idleGcSec * 1000 >= KEEP_ALIVE_MS ? { beforeCollect: () => client.recycle() } : {}),
          onCollect: (before, after, ms) => log.info({ heapMb: mb(before), afterMb: mb(after), ms: Math.round(ms) }, 'idle: heap collected'),
        })
      : undefined;
  const inflight: InFlight = new InFlight(idleGc ? () => idleGc.idle() : undefined);
  new Gauge({
    name: 'gateway_completions_in_flight',
    help: 'Completions in flight, streamed or not (the shutdown drain waits for these)',
    registers: [registry],
    collect() {
      this.set(inflight.size);
    },
  });
  return { inflight, idleGc };
}

interface RouteParts {
  obs: Observability;
  shared: SharedState;
  pool: KeyPool;
  engine: Engine;
  models: ModelLayer;
  reasoningSeal: ReasoningSeal;
  inflight: InFlight;
}

/** Every route behind the app's auth: observability, the dashboard, models, the front ends, stored state, admin. */
function gatewayRoutes(config: Config, p: RouteParts): AppDeps['plugins'] {
  // stored responses, conversations and OnDemand session continuation (docs/stored-state.md)
  const storedSettings = storedStateSettings(config);
  const storedMetrics = new StoredStateMetrics(p.obs.metrics.registry, p.shared.conversations);
  const stored = new StoredStateStep(p.shared.conversations, storedSettings, storedMetrics);
  const parse = parseSettings(config);
  const runner = { ...runnerSettings(config), inflight: p.inflight, streamProbe: p.obs.streamProbe };
  return [
    ...p.obs.plugins,
    ...(config.DASHBOARD ? [dashboardRoutes()] : []),
    modelRoutes(p.models.router),
    frontEndRoutes(p.engine, frontEnds({ parse, responses: { ...parse, reasoningSeal: p.reasoningSeal }, stored, models: p.models.router }), runner),
    storedStateRoutes(p.shared.conversations, storedSettings),
    storedStateAdminRoutes(storedMetrics, { ...storedSettings, retentionDays: config.RESPONSES_RETENTION_DAYS }),
    (scope) => scope.register(keyAdminRoutes, { prefix: '/admin', pool: p.pool }),
    (scope) => scope.register(clientKeyAdminRoutes, { prefix: '/admin', access: p.shared.access }),
  ];
}

function warnAboutDataDir(config: Pick<Config, 'REDIS_URL' | 'DATA_DIR'>, log: StartLog): void {
  const mountProblem = config.REDIS_URL === undefined ? unusableMount(config.DATA_DIR) : undefined;
  if (mountProblem !== undefined) {
    log.warn({ dataDir: resolveDataDir(config.DATA_DIR) }, `${mountProblem}: state is kept in the data dir instead and is lost with the container`);
  }
}

/** Weak client or admin keys, named by where they are set, and an open gateway. */
function warnAboutKeys(
  config: Pick<Config, 'PRIVATE_KEY' | 'ADMIN_KEY' | 'CLIENT_KEYS'>,
  configFile: ConfigFileSource | undefined,
  open: boolean,
  log: { warn(msg: string): void },
): void {
  const keysToJudge = [
    ...(configFile?.clientKeys() ?? config.PRIVATE_KEY).map((key) => ({ key, setting: configFile ? 'the config file' : 'PRIVATE_KEY' })),
    ...config.ADMIN_KEY.map((key) => ({ key, setting: 'ADMIN_KEY' })),
    ...config.CLIENT_KEYS.map((k) => ({ key: k.key, setting: 'CLIENT_KEYS' })),
  ];
  for (const line of weakKeyWarnings(keysToJudge)) log.warn(line);
  if (open) log.warn('ALLOW_NO_AUTH=true and no PRIVATE_KEY: anyone who can reach this port can use your OnDemand keys');
}

interface RunningParts {
  configFile: ConfigFileSource | undefined;
  idleGc: IdleGc | undefined;
  models: ModelLayer;
  health: HealthChecker;
  app: FastifyInstance;
  inflight: InFlight;
  /** SHUTDOWN_GRACE_MS */
  graceMs: number;
  obs: Observability;
  /** exports the spans still buffered */
  tracer: RequestTracer | undefined;
  sessionPool: SessionPool | undefined;
  client: OnDemandClient;
  pool: KeyPool;
  authGuard: AuthGuard;
  shared: SharedState;
}

/** Timers and reloads stop first, then requests in flight drain; what they recorded is flushed before the stores close. */
async function shutDown(p: RunningParts): Promise<void> {
  p.configFile?.close();
  p.idleGc?.stop();
  p.models.stop();
  await p.health.stop();
  await drainAndClose(p.app, p.inflight, p.graceMs);
  await p.obs.close();
  await p.tracer?.close();
  await p.sessionPool?.stop();
  await p.client.close();
  await p.pool.close();
  p.authGuard.close();
  await p.shared.close();
}
