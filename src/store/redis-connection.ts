/**
 * The gateway's link to Redis: one command client and one subscriber, shared by the key-state store, the
 * client-key registry and the limit counters. Redis is never trusted to be there: commands fail fast instead of
 * queueing (no offline queue, a short per-command timeout, a bounded in-flight queue), the clients reconnect on
 * their own, and whoever cares is told when the link goes down and comes back (to serve on local state, then
 * catch up). `isUp()` is what the `redis_up` gauge reads.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { RedisClientType } from 'redis';

/** node-redis (about 11 MB of RSS) is loaded when the first connection is made, i.e. only with REDIS_URL. */
const loadRedis = (): typeof import('redis') => createRequire(import.meta.url)('redis') as typeof import('redis');

export interface RedisLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface RedisConnectionOptions {
  url: string;
  /** every key and the channel start with this, so several gateways can share one Redis */
  prefix: string;
  /** per-command timeout; a slower Redis counts as down for that command */
  commandTimeoutMs: number;
  /** how long start() waits for a first connection before serving on local state */
  startWaitMs?: number;
  log?: RedisLogger;
}

const consoleLogger: RedisLogger = {
  warn: (obj, msg) => console.error(msg, obj),
  info: () => {},
};

/** Every open connection of this process, for the `redis_up` gauge (several gateways run in one test process). */
const live = new Set<RedisConnection>();

/** 1 when every Redis link of this process is up, 0 when one is down, undefined when Redis is not in use. */
export function redisUp(): 0 | 1 | undefined {
  if (live.size === 0) return undefined;
  for (const c of live) if (!c.isUp()) return 0;
  return 1;
}

export class RedisConnection {
  /** tells this process's own pub/sub messages apart from other replicas' */
  readonly origin = randomUUID();
  readonly prefix: string;
  readonly channel: string;
  readonly client: RedisClientType;
  private readonly sub: RedisClientType;
  private log: RedisLogger;
  private up = false;
  /** down at least once since start: the next "up" is a recovery that needs a catch-up */
  private wasDown = false;
  private closed = false;
  private readonly upListeners = new Set<(recovered: boolean) => void>();
  private readonly messageListeners = new Set<(message: unknown) => void>();

  constructor(private readonly opts: RedisConnectionOptions) {
    this.prefix = opts.prefix;
    this.channel = `${opts.prefix}events`;
    this.log = opts.log ?? consoleLogger;
    this.client = loadRedis().createClient({
      url: opts.url,
      disableOfflineQueue: true,
      commandsQueueMaxLength: 10_000,
      commandOptions: { timeout: opts.commandTimeoutMs },
      socket: {
        connectTimeout: Math.max(1000, opts.commandTimeoutMs * 4),
        // quick at first (a blink), then once a second; never gives up
        reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1000),
      },
    }) as RedisClientType;
    this.sub = this.client.duplicate({ commandOptions: {} }) as RedisClientType;
    for (const c of [this.client, this.sub]) {
      // an 'error' without a listener would crash the process; the state change is logged once, below
      c.on('error', () => {});
      c.on('ready', () => this.refresh());
      c.on('end', () => this.refresh());
      c.on('reconnecting', () => this.refresh());
    }
    live.add(this);
  }

  setLogger(log: RedisLogger): void {
    this.log = log;
  }

  isUp(): boolean {
    return this.up;
  }

  /** Connects both clients; resolves once up or after startWaitMs (the gateway then starts on local state). */
  async start(): Promise<void> {
    const connecting = Promise.all([
      this.client.connect(),
      this.sub.connect().then(() =>
        this.sub.subscribe(this.channel, (message) => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(message);
          } catch {
            return;
          }
          if (typeof parsed !== 'object' || parsed === null || (parsed as { o?: unknown }).o === this.origin) return;
          for (const l of this.messageListeners) l(parsed);
        }),
      ),
    ]).then(() => this.refresh());
    connecting.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const wait = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.opts.startWaitMs ?? 2000);
    });
    await Promise.race([connecting, wait]);
    clearTimeout(timer);
    if (!this.up) {
      this.wasDown = true;
      this.log.warn({ redis: redactUrl(this.opts.url) }, 'redis unavailable at start: serving on local state until it answers');
    }
  }

  /** Messages other replicas published on the channel (own messages are dropped). */
  onMessage(listener: (message: unknown) => void): () => void {
    this.messageListeners.add(listener);
    return () => this.messageListeners.delete(listener);
  }

  /** Called with recovered=true when the link comes back after being down (time to catch up). */
  onUp(listener: (recovered: boolean) => void): () => void {
    this.upListeners.add(listener);
    return () => this.upListeners.delete(listener);
  }

  /** PUBLISH with this replica's origin, so it does not come back to itself. */
  async publish(message: Record<string, unknown>): Promise<void> {
    await this.client.publish(this.channel, JSON.stringify({ ...message, o: this.origin }));
  }

  /** EVAL each time (not EVALSHA): a restarted Redis has lost its script cache. */
  async eval<T>(script: string, keys: readonly string[], args: readonly (string | number)[]): Promise<T> {
    return this.client.sendCommand<T>(['EVAL', script, String(keys.length), ...keys, ...args.map(String)]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    live.delete(this);
    this.upListeners.clear();
    this.messageListeners.clear();
    await Promise.all([this.client, this.sub].map((c) => (c.isOpen ? c.close().catch(() => c.destroy()) : Promise.resolve())));
  }

  private refresh(): void {
    if (this.closed) return;
    const now = this.client.isReady && this.sub.isReady;
    if (now === this.up) return;
    this.up = now;
    if (!now) {
      this.wasDown = true;
      this.log.warn(
        { redis: redactUrl(this.opts.url) },
        'redis unavailable: serving on local state (key state is not shared and client limits count per replica until it is back)',
      );
      return;
    }
    const recovered = this.wasDown;
    this.wasDown = false;
    if (recovered) this.log.info({ redis: redactUrl(this.opts.url) }, 'redis is back: catching up with shared state');
    for (const l of this.upListeners) {
      try {
        l(recovered);
      } catch {
        // a listener's failure must not stop the others
      }
    }
  }
}

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return 'redis://(unparseable url)';
  }
}
