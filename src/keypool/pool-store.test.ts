import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { KeyRecord, RemoteKeyChange, StateStore } from '../store/types.js';
import { fingerprintKey } from '../ondemand/key-fingerprint.js';
import { initialKeyState } from './key-state.js';
import { KeyPool } from './pool.js';
import { failed, ok, testClock } from './test-helpers.js';

const T0 = Date.UTC(2025, 0, 1);

class MemoryStore implements StateStore {
  rows = new Map<string, KeyRecord>();
  saves: KeyRecord[][] = [];
  deletes: string[] = [];
  failNext = false;
  remote: ((c: RemoteKeyChange) => void) | undefined;
  loadKeys() {
    return [...this.rows.values()];
  }
  async saveKeys(records: KeyRecord[]) {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full');
    }
    this.saves.push(records);
    for (const r of records) this.rows.set(r.fingerprint, r);
  }
  deleteKey(fp: string) {
    this.deletes.push(fp);
    this.rows.delete(fp);
  }
  close() {}
  subscribe(cb: (c: RemoteKeyChange) => void) {
    this.remote = cb;
    return () => {
      this.remote = undefined;
    };
  }
}

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('persistence batching', () => {
  it('never writes on the request path: one batch per flush interval, and on close', async () => {
    const store = new MemoryStore();
    const errors: unknown[] = [];
    const pool = new KeyPool({ envKeys: ['sk-a', 'sk-b'], store, clock: testClock, onError: (e) => errors.push(e) });
    await pool.restore();
    for (let i = 0; i < 20; i++) (await pool.acquire()).release(ok());
    expect(store.saves).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(store.saves).toHaveLength(1);
    expect(store.saves[0]?.map((r) => r.fingerprint).sort()).toEqual([fingerprintKey('sk-a'), fingerprintKey('sk-b')].sort());
    (await pool.acquire()).release(failed(401));
    await pool.close();
    expect(store.saves).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('a failed write is reported and retried', async () => {
    const store = new MemoryStore();
    const errors: unknown[] = [];
    const pool = new KeyPool({ envKeys: ['sk-a'], store, clock: testClock, onError: (e) => errors.push(e) });
    store.failNext = true;
    pool.add('sk-admin');
    await pool.flush();
    expect(errors).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(store.rows.get(fingerprintKey('sk-admin'))?.key).toBe('sk-admin');
  });
});

describe('remote changes (a shared store)', () => {
  it("applies another replica's state and keys without writing them back", async () => {
    const store = new MemoryStore();
    const pool = new KeyPool({ envKeys: ['sk-a'], store, clock: testClock });
    await pool.restore();
    const seen: string[] = [];
    pool.onChange((c) => seen.push(c.type));
    const dead = { ...initialKeyState(T0), status: 'dead', reason: '401 unauthenticated', until: T0 + 600_000 };
    store.remote?.({ type: 'upsert', record: { fingerprint: fingerprintKey('sk-a'), key: null, source: 'env', weight: 1, state: dead, updatedAt: T0 } });
    store.remote?.({ type: 'upsert', record: { fingerprint: fingerprintKey('sk-x'), key: 'sk-x', source: 'admin', weight: 1, state: null, updatedAt: T0 } });
    expect(pool.list().map((k) => [k.fingerprint, k.state])).toEqual([
      [fingerprintKey('sk-a'), 'dead'],
      [fingerprintKey('sk-x'), 'active'],
    ]);
    store.remote?.({ type: 'delete', fingerprint: fingerprintKey('sk-x') });
    expect(pool.list()).toHaveLength(1);
    await pool.close();
    expect(store.saves).toEqual([]);
    expect(store.deletes).toEqual([]);
    expect(seen).toEqual(['state', 'added', 'removed']);
  });
});
