/**
 * Picks where state lives, once, for the composition root (src/gateway.ts):
 *  - REDIS_URL set: key state, admin key changes, client keys and limit counters in Redis, shared by every
 *    replica (see redis.ts, redis-quotas.ts); the gateway still starts, and serves, when Redis is not
 *    there (local state, `redis_up` 0, catch-up when it is back).
 *  - otherwise: the SQLite file in DATA_DIR for key state, client keys and usage, limits counted in memory.
 * Stored responses and conversations follow the same choice (Redis, else the SQLite file).
 */
import type { Config } from '../config/config.js';
import { ClientAccess } from '../client-keys/access.js';
import { RedisClientKeyStore, SqliteClientKeyStore, type ClientKeyStore } from '../store/client-key-store.js';
import { MemoryQuotaStore, type QuotaStore } from '../store/quota-store.js';
import { RedisQuotaStore } from '../store/redis-quotas.js';
import type { ClientKeyConfig } from '../client-keys/keys.js';
import type { KeyPool } from '../keypool/pool.js';
import { resolveDataDir } from '../store/data-dir.js';
import { RedisStateStore } from '../store/redis.js';
import { RedisUsageStore } from '../store/redis-usage.js';
import { SqliteUsageStore } from '../store/sqlite-usage.js';
import { RedisOutcomes } from '../store/redis-outcomes.js';
import { DEFAULT_KEY_STATE_SETTINGS } from '../keypool/key-state.js';
import { RedisConnection, type RedisLogger } from '../store/redis-connection.js';
import { openStateStore } from '../store/sqlite.js';
import { RedisConversationStore } from '../store/redis-conversations.js';
import { SqliteConversationStore } from '../store/sqlite-conversations.js';
import type { ConversationStateStore, StateStore, UsageStore } from '../store/types.js';

export type SharedStateConfig = Pick<Config, 'DATA_DIR' | 'REDIS_URL' | 'REDIS_PREFIX' | 'REDIS_TIMEOUT_MS' | 'CLIENT_KEYS'> &
  Partial<Pick<Config, 'USAGE_RETENTION_DAYS' | 'RESPONSES_RETENTION_DAYS'>>;

export interface SharedState {
  /** for the key pool */
  store: StateStore;
  /** named client keys and their limits, for the app's hooks and /admin/client-keys */
  access: ClientAccess;
  redis: RedisConnection | undefined;
  /** usage counters: cluster-wide in Redis (redis-usage.ts), else in the SQLite file */
  usageStore: UsageStore;
  /** REDIS_URL: other replicas' key outcomes, for the pool's transient-failure judgement (redis-outcomes.ts) */
  peers: RedisOutcomes | undefined;
  /** stored responses, conversations and session heads (the Responses API's state) */
  conversations: ConversationStateStore;
  /** With a shared store a key's status change is written (and so published) at once, not with the next batch. */
  attachPool(pool: KeyPool): void;
  setLogger(log: RedisLogger): void;
  close(): Promise<void>;
}

export interface SharedStateOptions {
  /** client keys from the config file, merged after CLIENT_KEYS */
  fileClientKeys?: readonly ClientKeyConfig[] | undefined;
  onError?: (err: unknown, context: string) => void;
}

export async function openSharedState(config: SharedStateConfig, opts: SharedStateOptions = {}): Promise<SharedState> {
  const onError = opts.onError ?? ((err, context) => console.error(context, err));
  const configured = [...config.CLIENT_KEYS, ...(opts.fileClientKeys ?? [])];
  let redis: RedisConnection | undefined;
  let store: StateStore;
  let keyStore: ClientKeyStore;
  let limits: QuotaStore;
  let usageStore: UsageStore;
  let peers: RedisOutcomes | undefined;
  let conversations: ConversationStateStore;
  const stored = { retentionMs: (config.RESPONSES_RETENTION_DAYS ?? 30) * 86_400_000 };
  if (config.REDIS_URL !== undefined) {
    redis = new RedisConnection({ url: config.REDIS_URL, prefix: config.REDIS_PREFIX, commandTimeoutMs: config.REDIS_TIMEOUT_MS });
    await redis.start();
    store = new RedisStateStore(redis, onError);
    keyStore = new RedisClientKeyStore(redis);
    limits = new RedisQuotaStore(redis);
    usageStore = new RedisUsageStore(redis, { retentionDays: config.USAGE_RETENTION_DAYS ?? 90, onError });
    peers = new RedisOutcomes(redis, { windowMs: DEFAULT_KEY_STATE_SETTINGS.transientWindowMs });
    conversations = new RedisConversationStore(redis, stored);
  } else {
    const dir = resolveDataDir(config.DATA_DIR);
    store = openStateStore(dir);
    keyStore = new SqliteClientKeyStore(dir);
    limits = new MemoryQuotaStore();
    usageStore = SqliteUsageStore.open(config.DATA_DIR);
    conversations = SqliteConversationStore.open(dir, stored);
  }
  const access = new ClientAccess({ configured, store: keyStore, limits, onError });
  await access.start();
  const unhook: Array<() => void> = [];
  return {
    store,
    access,
    redis,
    usageStore,
    peers,
    conversations,
    attachPool(pool) {
      if (redis === undefined) return;
      unhook.push(
        pool.onChange((change) => {
          if (change.type === 'state') void pool.flush();
        }),
      );
    },
    setLogger(log) {
      redis?.setLogger(log);
    },
    async close() {
      for (const u of unhook) u();
      await access.close();
      await store.close();
      await usageStore.close();
      await conversations.close();
      peers?.close();
      await redis?.close();
    },
  };
}
