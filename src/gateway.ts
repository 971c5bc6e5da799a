/**
 * The composition root: builds every part from a validated Config and wires them together. main.ts, the demo,
 * the tests and the benchmark all start the gateway through `startGateway`.
 */
import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config/config.js';
import { Engine } from './core/engine.js';
import { chatRoutes } from './frontends/openai-chat/route.js';
import { buildApp } from './http/app.js';
import { KeyChecker } from './http/auth.js';
import { modelRoutes } from './http/models-routes.js';
import { OnDemandClient, toFailure } from './ondemand/client.js';
import { createModelRouter } from './ondemand/models.js';
import { keyAdminRoutes } from './pool/admin-routes.js';
import { startHealthChecks, type HealthChecker } from './pool/health.js';
import { createKeyPool, type KeyPoolImpl } from './pool/pool.js';
import type { CallOutcome } from './pool/types.js';
import { openStateStore } from './store/sqlite.js';
import type { StateStore } from './store/types.js';

export interface GatewayOptions {
  /** where pino writes (tests capture it); stdout by default */
  logStream?: NodeJS.WritableStream;
  /** a store other than the SQLite file in DATA_DIR (tests) */
  store?: StateStore;
}

export interface Gateway {
  app: FastifyInstance;
  pool: KeyPoolImpl;
  engine: Engine;
  client: OnDemandClient;
  /** the address after listen() */
  url: string;
  listen(): Promise<string>;
  /** stop accepting, let streams in flight finish up to SHUTDOWN_GRACE_MS, flush state */
  close(): Promise<void>;
}

export async function startGateway(config: Config, opts: GatewayOptions = {}): Promise<Gateway> {
  const client = new OnDemandClient({
    baseUrl: config.ONDEMAND_BASE_URL,
    userAgent: config.USER_AGENT,
    connectTimeoutMs: config.CONNECT_TIMEOUT_MS,
    firstByteTimeoutMs: config.FIRST_BYTE_TIMEOUT_MS,
    idleTimeoutMs: config.IDLE_TIMEOUT_MS,
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
  let log: { warn: (obj: object, msg: string) => void } = { warn: (obj, msg) => console.error(msg, obj) };
  const store = opts.store ?? openStateStore(config.DATA_DIR);
  const pool = await createKeyPool({ config, store, probe, onError: (err, context) => log.warn({ err }, `key pool: ${context}`) });
  const health: HealthChecker = startHealthChecks({
    pool,
    intervalSec: config.HEALTH_CHECK_INTERVAL,
    concurrency: config.HEALTH_CHECK_CONCURRENCY,
    probeTimeoutMs: Math.min(30_000, config.FIRST_BYTE_TIMEOUT_MS),
  });
  const router = createModelRouter({ defaultModel: config.DEFAULT_MODEL, modelMap: config.MODEL_MAP, strict: config.STRICT_MODELS });
  const engine = new Engine({ config, pool, client, router });
  const clientKeys = new KeyChecker(config.PRIVATE_KEY);
  const adminKeys = new KeyChecker(config.ADMIN_KEY.length > 0 ? config.ADMIN_KEY : config.PRIVATE_KEY);
  let shuttingDown = false;
  const runner = { pingMs: config.KEEPALIVE_PING_MS };
  const app = buildApp({
    config,
    engine,
    pool,
    router,
    clientKeys,
    adminKeys,
    ...(opts.logStream ? { logStream: opts.logStream } : {}),
    isShuttingDown: () => shuttingDown,
    plugins: [
      modelRoutes(router),
      chatRoutes(engine, runner),
      (scope) => scope.register(keyAdminRoutes, { prefix: '/admin', pool }),
    ],
  });
  log = app.log;
  if (config.PRIVATE_KEY.length === 0) app.log.warn('ALLOW_NO_AUTH=true and no PRIVATE_KEY: anyone who can reach this port can use your OnDemand keys');

  const gateway: Gateway = {
    app,
    pool,
    engine,
    client,
    url: '',
    async listen() {
      const address = await app.listen({ port: config.PORT, host: config.HOST });
      gateway.url = address.replace('[::]', '127.0.0.1').replace('0.0.0.0', '127.0.0.1');
      return gateway.url;
    },
    async close() {
      if (shuttingDown) return;
      shuttingDown = true;
      await health.stop();
      await closeWithGrace(app, config.SHUTDOWN_GRACE_MS);
      await client.close();
      await pool.close();
      if (opts.store === undefined) store.close();
    },
  };
  return gateway;
}

async function closeWithGrace(app: FastifyInstance, graceMs: number): Promise<void> {
  const closing = app.close();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      // streams still open past the grace period are cut; their handlers end them with an error chunk
      app.server.closeAllConnections();
      resolve();
    }, graceMs);
    timer.unref();
  });
  await Promise.race([closing, deadline]);
  if (timer) clearTimeout(timer);
  await closing;
}
