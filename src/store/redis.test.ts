/** RedisStateStore and RedisQuotaStore against a real redis-server (test/redis-helper.ts starts one). */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../../test/redis-helper.js';
import { describeNeeding, REDIS } from '../../test/requirements.js';

const describeWithRedis = describeNeeding(REDIS);
import { RedisQuotaStore } from './redis-quotas.js';
import { DEFAULT_POOL_SETTINGS } from '../keypool/settings.js';
import { KeyPool } from '../keypool/pool.js';
import { failed } from '../keypool/test-helpers.js';
import { initialKeyState, type KeyState } from '../keypool/key-state.js';
import { RedisStateStore } from './redis.js';
import { RedisConnection } from './redis-connection.js';
import { openSharedState } from '../wiring/state.js';
import type { KeyRecord, RemoteKeyChange } from './types.js';

let redis: RedisServer;
const conns: RedisConnection[] = [];
let prefixN = 0;

async function connect(prefix: string): Promise<RedisConnection> {
  const c = new RedisConnection({ url: redis.url, prefix, commandTimeoutMs: 500, log: { warn: () => {}, info: () => {} } });
  await c.start();
  conns.push(c);
  return c;
}

function record(fp: string, state: Partial<KeyState>, extra: Partial<KeyRecord> = {}): KeyRecord {
  return { fingerprint: fp, key: null, source: 'env', weight: 1, state: { ...initialKeyState(100), ...state }, updatedAt: 1, ...extra };
}

async function until(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (!cond()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  for (const c of conns) await c.close();
  await redis?.stop();
});

describeWithRedis('RedisStateStore', () => {
  it('keeps the later status (by since), tells the stale writer, and does not echo its own writes', async () => {
    const p = `t${++prefixN}:`;
    const x = new RedisStateStore(await connect(p));
    const y = new RedisStateStore(await connect(p));
    const seenX: RemoteKeyChange[] = [];
    const seenY: RemoteKeyChange[] = [];
    x.subscribe((c) => seenX.push(c));
    y.subscribe((c) => seenY.push(c));

    await x.saveKeys([record('k:00000001', { status: 'dead', reason: '401', since: 200, until: 9e12 })]);
    await until('y hears of the dead key', () => seenY.length === 1);
    expect(seenX).toEqual([]);

    // y's view is from before the key died: its write is refused and it is handed the newer record
    await y.saveKeys([record('k:00000001', { status: 'active', since: 100, successes: 7 })]);
    await until('y adopts the newer record', () => seenY.length === 2);
    const adopted = seenY[1];
    expect(adopted?.type === 'upsert' && (adopted.record.state as KeyState).status).toBe('dead');
    const loaded = await x.loadKeys();
    expect(loaded.map((r) => (r.state as KeyState).status)).toEqual(['dead']);

    // a counters-only change is stored but not published
    await x.saveKeys([record('k:00000001', { status: 'dead', reason: '401', since: 200, until: 9e12, failures: 3 })]);
    await new Promise((r) => setTimeout(r, 50));
    expect(seenY).toHaveLength(2);
    expect(((await y.loadKeys())[0]?.state as KeyState).failures).toBe(3);

    await x.deleteKey('k:00000001');
    await until('y hears of the delete', () => seenY.length === 3);
    expect(seenY[2]).toEqual({ type: 'delete', fingerprint: 'k:00000001' });
    expect(await y.loadKeys()).toEqual([]);
  });

  it("publishes a key's status change at once, not with the pool's next batch", async () => {
    const p = `t${++prefixN}:`;
    const settings = { ...DEFAULT_POOL_SETTINGS, flushIntervalMs: 3_600_000 };
    const config = { DATA_DIR: undefined, REDIS_URL: redis.url, REDIS_PREFIX: p, REDIS_TIMEOUT_MS: 500, CLIENT_KEYS: [] };
    const sa = await openSharedState(config);
    const sb = await openSharedState(config);
    const a = new KeyPool({ settings, envKeys: ['key-one-aaaa', 'key-two-bbbb'], store: sa.store });
    const b = new KeyPool({ settings, envKeys: ['key-one-aaaa', 'key-two-bbbb'], store: sb.store });
    await a.restore();
    await b.restore();
    sa.attachPool(a);
    sb.attachPool(b);
    try {
      const lease = await a.acquire();
      lease.release(failed(401));
      expect(a.get(lease.fingerprint)?.state).toBe('dead');
      await until('b sees the key dead', () => b.get(lease.fingerprint)?.state === 'dead');
    } finally {
      await sa.close();
      await sb.close();
    }
  });
});

describeWithRedis('RedisQuotaStore', () => {
  it('admits exactly N of many concurrent requests from several replicas', async () => {
    const p = `t${++prefixN}:`;
    const stores = [new RedisQuotaStore(await connect(p)), new RedisQuotaStore(await connect(p)), new RedisQuotaStore(await connect(p))];
    const verdicts = await Promise.all(Array.from({ length: 30 }, (_, i) => (stores[i % 3] as RedisQuotaStore).hitMinute('team', 7, Date.now())));
    expect(verdicts.filter((v) => v.allowed)).toHaveLength(7);
    for (const v of verdicts.filter((x) => !x.allowed)) {
      expect(v.retryAfterSec).toBeGreaterThanOrEqual(1);
      expect(v.retryAfterSec).toBeLessThanOrEqual(60);
    }
  });

  it('counts tokens per day across replicas', async () => {
    const p = `t${++prefixN}:`;
    const [s1, s2] = [new RedisQuotaStore(await connect(p)), new RedisQuotaStore(await connect(p))];
    const now = Date.now();
    expect((await s1.checkDay('team', 100, now)).allowed).toBe(true);
    await s1.addTokens('team', 60, now);
    expect((await s2.checkDay('team', 100, now)).allowed).toBe(true);
    await s2.addTokens('team', 40, now);
    const v = await s1.checkDay('team', 100, now);
    expect(v.allowed).toBe(false);
    expect(v.retryAfterSec).toBeGreaterThanOrEqual(1);
    expect((await s1.checkDay('other', 100, now)).allowed).toBe(true);
  });
});

// Last: it kills the server.
describeWithRedis('Redis away', () => {
  it('never fails a write or a limit check, counts locally, and catches up when Redis is back', async () => {
    const p = `t${++prefixN}:`;
    const conn = await connect(p);
    const store = new RedisStateStore(conn);
    const limits = new RedisQuotaStore(conn);
    await redis.kill();
    await until('the connection notices', () => !conn.isUp());

    await expect(store.saveKeys([record('k:0000000a', { status: 'cooling', since: 500, until: 9e12 })])).resolves.toBeUndefined();
    const local = await Promise.all([1, 2, 3].map(() => limits.hitMinute('team', 2, Date.now())));
    expect(local.map((v) => v.allowed)).toEqual([true, true, false]);
    await limits.addTokens('team', 25, Date.now());

    await redis.restart();
    await until('the connection is back', () => conn.isUp());
    const other = await connect(p);
    const otherStore = new RedisStateStore(other);
    let loaded: KeyRecord[] = [];
    for (let i = 0; i < 200 && loaded.length === 0; i++) {
      loaded = await otherStore.loadKeys();
      if (loaded.length === 0) await new Promise((r) => setTimeout(r, 10));
    }
    expect(loaded.map((r) => (r.state as KeyState).status)).toEqual(['cooling']);
    let used = 0;
    for (let i = 0; i < 200 && used === 0; i++) {
      used = Number((await other.client.get(`${p}tpd:team:${new Date().toISOString().slice(0, 10).replace(/-/g, '')}`)) ?? 0);
      if (used === 0) await new Promise((r) => setTimeout(r, 10));
    }
    expect(used).toBe(25);
  });
});
