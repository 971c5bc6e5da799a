import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fingerprintKey } from '../ondemand/key-fingerprint.js';
import { createKeyPool } from '../wiring/key-pool.js';
import { failed } from '../keypool/test-helpers.js';
import { resolveDataDir, unusableMount } from './data-dir.js';
import { DATABASE_FILE, SqliteStateStore } from './sqlite.js';
import type { KeyRecord } from './types.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gw-store-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const config = (keys: string[]) => ({
  ONDEMAND_APIKEYS: keys,
  BAD_KEY_RETRY_INTERVAL: 600,
  RATE_LIMIT_COOLDOWN_SEC: 60,
  TRANSIENT_COOLDOWN_SEC: 15,
  ALL_KEYS_OUT_WAIT_MS: 0,
});

/** One "process lifetime": open the store, build the pool, run `body`, shut down as the app would. */
async function run<T>(keys: string[], body: (pool: Awaited<ReturnType<typeof createKeyPool>>, store: SqliteStateStore) => Promise<T> | T): Promise<T> {
  const store = SqliteStateStore.open(dir);
  const pool = await createKeyPool({
    config: config(keys),
    store,
    onError: (e) => {
      throw e;
    },
  });
  try {
    return await body(pool, store);
  } finally {
    await pool.close();
    store.close();
  }
}

describe('SqliteStateStore', () => {
  it('round-trips records and keeps the file private', () => {
    const store = SqliteStateStore.open(dir);
    const records: KeyRecord[] = [
      { fingerprint: 'k:00000001', key: 'sk-admin', source: 'admin', weight: 2, label: 'team', state: { status: 'dead', n: 1 }, updatedAt: 5 },
      { fingerprint: 'k:00000002', key: null, source: 'env', weight: 1, state: { status: 'active' }, updatedAt: 6 },
    ];
    store.saveKeys(records);
    store.saveKeys([{ ...records[1]!, weight: 3, updatedAt: 7 }]);
    store.deleteKey('k:missing');
    expect(store.loadKeys()).toEqual([records[0], { ...records[1], weight: 3, updatedAt: 7 }]);
    store.deleteKey('k:00000001');
    expect(store.loadKeys().map((r) => r.fingerprint)).toEqual(['k:00000002']);
    store.close();
    const file = path.join(dir, DATABASE_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(new Database(file, { readonly: true }).pragma('journal_mode', { simple: true })).toBe('wal');
  });

  it('an unreadable state comes back as null instead of failing the start', () => {
    const store = SqliteStateStore.open(dir);
    store.saveKeys([{ fingerprint: 'k:1', key: null, source: 'env', weight: 1, state: {}, updatedAt: 1 }]);
    store.close();
    const db = new Database(path.join(dir, DATABASE_FILE));
    db.prepare("UPDATE keys SET state = '{not json'").run();
    db.close();
    const again = SqliteStateStore.open(dir);
    expect(again.loadKeys()[0]?.state).toBeNull();
    again.close();
  });
});

describe('key state across a restart', () => {
  const A = 'sk-env-alpha';
  const B = 'sk-env-bravo';
  const C = 'sk-admin-charlie';

  it('a dead key stays dead with its retry time; an admin key comes back; a key gone from env disappears', async () => {
    const deadUntil = await run([A, B], async (pool) => {
      pool.add(C, { weight: 2, label: 'added later' });
      const lease = await pool.acquire({ exclude: new Set([fingerprintKey(B), fingerprintKey(C)]) });
      lease.release(failed(401, { errorCode: 'unauthenticated' }));
      pool.disable(fingerprintKey(B));
      return pool.get(fingerprintKey(A))?.until;
    });
    expect(deadUntil).toBeTruthy();

    await run([A, B], (pool) => {
      const byFp = new Map(pool.list().map((k) => [k.fingerprint, k]));
      expect(byFp.get(fingerprintKey(A))).toMatchObject({ state: 'dead', reason: '401 unauthenticated', until: deadUntil, failures: 1, source: 'env' });
      expect(byFp.get(fingerprintKey(B))).toMatchObject({ state: 'disabled', source: 'env' });
      expect(byFp.get(fingerprintKey(C))).toMatchObject({ state: 'active', source: 'admin', weight: 2, label: 'added later' });
    });

    await run([B], (pool, store) => {
      expect(pool.list().map((k) => k.fingerprint)).toEqual([fingerprintKey(B), fingerprintKey(C)]);
      return pool.flush().then(() => {
        expect(
          store
            .loadKeys()
            .map((r) => r.fingerprint)
            .sort(),
        ).toEqual([fingerprintKey(B), fingerprintKey(C)].sort());
      });
    });
  });

  it('stores raw keys only for admin keys, and forgets it once the key moves to env', async () => {
    await run([A], (pool) => {
      pool.add(C);
      pool.disable(fingerprintKey(A));
    });
    const peek = () => {
      const store = SqliteStateStore.open(dir);
      const rows = store.loadKeys();
      store.close();
      return Object.fromEntries(rows.map((r) => [r.fingerprint, [r.source, r.key]]));
    };
    expect(peek()).toEqual({ [fingerprintKey(A)]: ['env', null], [fingerprintKey(C)]: ['admin', C] });
    await run([A, C], (pool) => {
      expect(pool.get(fingerprintKey(C))?.source).toBe('env');
    });
    expect(peek()[fingerprintKey(C)]).toEqual(['env', null]);
    // and when it leaves env again it is gone, not resurrected from the old admin record
    await run([A], (pool) => {
      expect(pool.get(fingerprintKey(C))).toBeUndefined();
    });
  });

  it('a key deleted through the admin API stays deleted', async () => {
    await run([A], (pool) => {
      pool.add(C);
    });
    await run([A], (pool) => {
      expect(pool.remove(fingerprintKey(C))).toBe(true);
    });
    await run([A], (pool) => {
      expect(pool.list().map((k) => k.fingerprint)).toEqual([fingerprintKey(A)]);
    });
  });
});

describe('resolveDataDir', () => {
  it('uses DATA_DIR when set, creating it', () => {
    const want = path.join(dir, 'nested', 'state');
    expect(resolveDataDir(want)).toBe(want);
    expect(statSync(want).isDirectory()).toBe(true);
  });

  it('uses the persistent mount when it exists and is writable', () => {
    const mount = path.join(dir, 'mount');
    mkdirSync(mount);
    expect(resolveDataDir(undefined, { mount, cwd: dir })).toBe(mount);
  });

  it('says why a mount was passed over only when it exists and cannot be written', () => {
    const mount = path.join(dir, 'mounted');
    mkdirSync(mount, { recursive: true });
    expect(unusableMount(undefined, mount)).toBeUndefined();
    expect(unusableMount(undefined, path.join(dir, 'no-such-mount'))).toBeUndefined();
    expect(unusableMount('/somewhere', mount)).toBeUndefined();
    // as root every directory is writable; an unprivileged user is refused a read-only one
    chmodSync(mount, 0o500);
    const asUser = process.getuid?.() !== 0;
    expect(unusableMount(undefined, mount) !== undefined).toBe(asUser);
    chmodSync(mount, 0o700);
  });

  it('falls back to ./data, created', () => {
    const got = resolveDataDir(undefined, { mount: path.join(dir, 'no-such-mount'), cwd: dir });
    expect(got).toBe(path.join(dir, 'data'));
    expect(statSync(got).isDirectory()).toBe(true);
  });
});
