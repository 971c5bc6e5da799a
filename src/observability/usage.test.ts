import { describe, expect, it } from 'vitest';
import { SqliteUsageStore } from '../store/sqlite-usage.js';
import type { UsageRow, UsageStore } from '../store/types.js';
import { UsageRecorder, utcDay, type UsageEvent } from './usage.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2025, 5, 10, 12);

const ev = (extra: Partial<UsageEvent> = {}): UsageEvent => ({
  at: T0,
  model: 'gpt-4o',
  client: 'c:00000001',
  upstreamKey: 'k:0000000a',
  tokensIn: 10,
  tokensOut: 20,
  error: false,
  ...extra,
});

describe('utcDay', () => {
  it.each([
    [Date.UTC(2025, 5, 10, 0, 0, 0, 0), '2025-06-10'],
    [Date.UTC(2025, 5, 10, 23, 59, 59, 999), '2025-06-10'],
    [Date.UTC(2025, 5, 11), '2025-06-11'],
    [Date.UTC(2025, 5, 10, 12), '2025-06-10'],
    [DAY - 1, '1970-01-01'],
    [0, '1970-01-01'],
    [Date.UTC(2024, 1, 29, 5), '2024-02-29'],
    [Date.UTC(2025, 5, 11, 0, 0, 0, 1), '2025-06-11'],
  ])('%i is %s, in any order of calls', (ms, day) => {
    expect(utcDay(ms)).toBe(day);
    expect(utcDay(ms)).toBe(day);
  });
});

function recorder(store: UsageStore, now = T0, retentionDays = 0) {
  return new UsageRecorder({ store, flushIntervalMs: 0, retentionDays, now: () => now, onError: () => {} });
}

describe('UsageRecorder', () => {
  it('aggregates in memory and writes one batch per flush', async () => {
    const batches: UsageRow[][] = [];
    const store = new SqliteUsageStore(':memory:');
    const spy: UsageStore = {
      ...store,
      addUsage: (rows) => {
        batches.push(rows);
        store.addUsage(rows);
      },
      loadUsage: (d) => store.loadUsage(d),
      pruneUsage: (d) => store.pruneUsage(d),
      close: () => store.close(),
    };
    const r = recorder(spy);
    for (let i = 0; i < 5; i++) r.record(ev());
    r.record(ev({ error: true, tokensOut: 0, upstreamKey: '-' }));
    r.record(ev({ at: T0 - DAY, model: 'claude' }));
    expect(batches).toHaveLength(0);
    await r.flush();
    expect(batches).toHaveLength(1);
    expect(batches[0]).toHaveLength(3);
    await r.flush();
    expect(batches).toHaveLength(1);
    const report = await r.report(7);
    expect(report.totals).toEqual({ requests: 7, tokensIn: 70, tokensOut: 120, errors: 1 });
    expect(report.byModel.map((m) => [m.model, m.requests])).toEqual([
      ['gpt-4o', 6],
      ['claude', 1],
    ]);
    expect(report.byDay.map((d) => d.day)).toEqual([utcDay(T0 - DAY), utcDay(T0)]);
    expect(report.byUpstreamKey.find((k) => k.upstreamKey === '-')).toMatchObject({ requests: 1, errors: 1 });
    await r.close();
  });

  it('reports what is not flushed yet, and only the days asked for', async () => {
    const r = recorder(new SqliteUsageStore(':memory:'));
    r.record(ev());
    r.record(ev({ at: T0 - 3 * DAY }));
    expect((await r.report(1)).totals.requests).toBe(1);
    expect((await r.report(4)).totals.requests).toBe(2);
    expect((await r.report(1)).since).toBe(utcDay(T0));
  });

  it('keeps a batch the store refused and writes it with the next flush', async () => {
    const store = new SqliteUsageStore(':memory:');
    let fail = true;
    const flaky: UsageStore = {
      addUsage: (rows) => {
        if (fail) throw new Error('disk full');
        store.addUsage(rows);
      },
      loadUsage: (d) => store.loadUsage(d),
      pruneUsage: (d) => store.pruneUsage(d),
      close: () => store.close(),
    };
    const errors: string[] = [];
    const r = new UsageRecorder({ store: flaky, flushIntervalMs: 0, now: () => T0, onError: (_e, c) => errors.push(c) });
    r.record(ev());
    await r.flush();
    expect(errors).toHaveLength(1);
    r.record(ev());
    fail = false;
    await r.flush();
    expect(store.loadUsage('2000-01-01')).toEqual([expect.objectContaining({ requests: 2 })]);
  });

  it('prunes rows older than the retention once a day', async () => {
    const store = new SqliteUsageStore(':memory:');
    store.addUsage([{ day: utcDay(T0 - 100 * DAY), model: 'm', client: 'c', upstreamKey: 'k', requests: 1, tokensIn: 0, tokensOut: 0, errors: 0 }]);
    const r = recorder(store, T0, 90);
    await r.flush();
    expect(store.loadUsage('2000-01-01')).toEqual([]);
  });

  it('truncates very long model names', async () => {
    const r = recorder(new SqliteUsageStore(':memory:'));
    r.record(ev({ model: 'x'.repeat(500) }));
    expect((await r.report(1)).byModel[0]?.model).toHaveLength(100);
  });
});
