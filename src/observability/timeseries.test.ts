import { describe, expect, it } from 'vitest';
import { RecentErrors } from './recent-errors.js';
import { percentile, TrafficSeries } from './timeseries.js';

const M = 60_000;
const T0 = Date.UTC(2025, 0, 1, 10, 0, 0);
const sample = (at: number, status = 200, durationMs = 120, extra: { failed?: boolean; ttftMs?: number } = {}) => ({
  at,
  status,
  failed: extra.failed ?? false,
  durationMs,
  ttftMs: extra.ttftMs,
  tokensIn: 1,
  tokensOut: 2,
});

describe('TrafficSeries', () => {
  it('keeps one bucket per minute for the last hour, oldest first, empty minutes as zeros', () => {
    const s = new TrafficSeries(60);
    s.record(sample(T0 + 5_000));
    s.record(sample(T0 + 50_000, 429));
    s.record(sample(T0 + M + 1, 502));
    s.record(sample(T0 + M + 2, 200, 80, { failed: true, ttftMs: 40 }));
    const points = s.points(T0 + 2 * M + 10);
    expect(points).toHaveLength(60);
    expect(points.at(-1)).toMatchObject({ requests: 0, avgMs: null, p95Ms: null });
    expect(points.at(-2)).toMatchObject({ requests: 2, serverErrors: 2, clientErrors: 0, avgTtftMs: 40 });
    expect(points.at(-3)).toMatchObject({ t: new Date(T0).toISOString(), requests: 2, clientErrors: 1, avgMs: 120, p95Ms: 250, tokensIn: 2, tokensOut: 4 });
  });

  it('forgets a minute an hour later when its slot comes round again', () => {
    const s = new TrafficSeries(60);
    s.record(sample(T0));
    s.record(sample(T0 + 60 * M));
    const points = s.points(T0 + 60 * M);
    expect(points.reduce((n, p) => n + p.requests, 0)).toBe(1);
    expect(s.points(T0 + 200 * M).every((p) => p.requests === 0)).toBe(true);
  });

  it('reads percentiles off the per-minute histogram', () => {
    expect(percentile([0, 0, 0], 0, 0.95)).toBeNull();
    // 19 fast (≤ 50 ms) and 1 slow (≤ 1 s): p95 is still in the first bucket, p99 is not
    const counts = [19, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
    expect(percentile(counts, 20, 0.95)).toBe(50);
    expect(percentile(counts, 20, 0.99)).toBe(1000);
    const top = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3];
    expect(percentile(top, 3, 0.5)).toBe(120_000);
  });
});

describe('RecentErrors', () => {
  it('keeps the newest N, newest first', () => {
    const r = new RecentErrors(3);
    const e = (i: number) => ({ at: '', requestId: `r${i}`, method: 'POST', path: '/', status: 500, code: null, model: null, upstreamKey: null, attempts: null, durationMs: 1 });
    expect(r.list()).toEqual([]);
    for (let i = 1; i <= 5; i++) r.push(e(i));
    expect(r.list().map((x) => x.requestId)).toEqual(['r5', 'r4', 'r3']);
    expect(r.list(2).map((x) => x.requestId)).toEqual(['r5', 'r4']);
  });
});
