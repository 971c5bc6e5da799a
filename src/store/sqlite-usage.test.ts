import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStateStore } from './sqlite.js';
import { SqliteUsageStore } from './sqlite-usage.js';
import type { UsageRow } from './types.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gw-usage-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const row = (day: string, model: string, requests: number, extra: Partial<UsageRow> = {}): UsageRow => ({
  day,
  model,
  client: 'c:00000001',
  upstreamKey: 'k:0000000a',
  requests,
  tokensIn: requests * 10,
  tokensOut: requests * 20,
  errors: 0,
  ...extra,
});

describe('SqliteUsageStore', () => {
  it('adds increments to the same row, keeps rows apart by day, model, client and key', () => {
    const store = SqliteUsageStore.open(dir);
    store.addUsage([row('2025-01-01', 'gpt-4o', 2), row('2025-01-01', 'gpt-4o', 1, { client: 'c:00000002' })]);
    store.addUsage([row('2025-01-01', 'gpt-4o', 3, { errors: 1 }), row('2025-01-02', 'claude', 1)]);
    const rows = store.loadUsage('2025-01-01');
    expect(rows).toHaveLength(3);
    expect(rows.find((r) => r.client === 'c:00000001' && r.day === '2025-01-01')).toMatchObject({ requests: 5, tokensIn: 50, tokensOut: 100, errors: 1 });
    expect(store.loadUsage('2025-01-02').map((r) => r.model)).toEqual(['claude']);
    store.close();
  });

  it('shares the key store database file and survives a reopen', () => {
    const keys = SqliteStateStore.open(dir);
    const usage = SqliteUsageStore.open(dir);
    expect(usage.file).toBe(keys.file);
    keys.saveKeys([{ fingerprint: 'k:0000000a', key: null, source: 'env', weight: 1, state: {}, updatedAt: 1 }]);
    usage.addUsage([row('2025-02-01', 'gpt-4o', 4)]);
    usage.close();
    keys.close();
    const again = SqliteUsageStore.open(dir);
    expect(again.loadUsage('2025-01-01')).toEqual([row('2025-02-01', 'gpt-4o', 4)]);
    const keysAgain = SqliteStateStore.open(dir);
    expect(keysAgain.loadKeys().map((k) => k.fingerprint)).toEqual(['k:0000000a']);
    keysAgain.close();
    again.close();
  });

  it('prunes the days before a cut-off', () => {
    const store = new SqliteUsageStore(':memory:');
    store.addUsage([row('2025-01-01', 'a', 1), row('2025-01-05', 'a', 1), row('2025-01-09', 'a', 1)]);
    expect(store.pruneUsage('2025-01-05')).toBe(1);
    expect(store.loadUsage('2000-01-01').map((r) => r.day)).toEqual(['2025-01-05', '2025-01-09']);
    store.close();
  });
});
