import { describe, expect, it } from 'vitest';
import { systemClock } from '../keypool/clock.js';
import { KeyPool } from '../keypool/pool.js';
import { failed, ok } from '../keypool/test-helpers.js';
import { GatewayMetrics } from './metrics.js';

async function value(m: GatewayMetrics, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = await m.registry.getSingleMetric(name)?.get();
  const v = metric?.values.find((x) => Object.entries(labels).every(([k, l]) => String(x.labels[k]) === l));
  return v?.value;
}

describe('GatewayMetrics', () => {
  it('counts each lease once, by key and outcome class, and a failover for each further attempt', async () => {
    const m = new GatewayMetrics({ defaultMetrics: false });
    const pool = new KeyPool({ envKeys: ['key-one-1111', 'key-two-2222'] });
    m.watchPool(pool);
    const first = await pool.acquire({ exclude: new Set() });
    first.release(failed(429));
    first.release(ok());
    const second = await pool.acquire({ exclude: new Set([first.fingerprint]) });
    second.release(ok());
    expect(await value(m, 'gateway_upstream_calls_total', { key: first.fingerprint, outcome: 'rate' })).toBe(1);
    expect(await value(m, 'gateway_upstream_calls_total', { key: second.fingerprint, outcome: 'ok' })).toBe(1);
    expect(await value(m, 'gateway_failovers_total')).toBe(1);
    expect(await value(m, 'gateway_key_cooldowns_total', { state: 'cooling' })).toBe(1);
    expect(await value(m, 'gateway_keys', { state: 'cooling' })).toBe(1);
    expect(await value(m, 'gateway_keys', { state: 'active' })).toBe(1);
    expect(pool.usableCount()).toBe(1);
    m.close();
    await pool.close();
  });

  it("counts the upstream circuit's trips by class, a re-trip after a failed trial too, and shows it open until it closes", async () => {
    let now = Date.UTC(2025, 0, 1);
    const m = new GatewayMetrics({ defaultMetrics: false });
    const pool = new KeyPool({ envKeys: ['key-one-1111', 'key-two-2222', 'key-three-333'], clock: { ...systemClock, now: () => now } });
    m.watchPool(pool);
    const leases = [await pool.acquire(), await pool.acquire(), await pool.acquire()];
    for (const l of leases) l.release(failed(429));
    expect(await value(m, 'gateway_circuit_trips_total', { class: 'rate' })).toBe(1);
    expect(await value(m, 'gateway_circuit_open')).toBe(1);
    now += 5_000;
    (await pool.acquire()).release(failed(503, { errorCode: 'resource_unavailable' }));
    expect(await value(m, 'gateway_circuit_trips_total', { class: 'transient' })).toBe(1);
    now += 10_000;
    (await pool.acquire()).release(ok());
    expect(pool.circuitInfo().phase).toBe('closed');
    expect(await value(m, 'gateway_circuit_open')).toBe(0);
    expect(await value(m, 'gateway_circuit_trips_total', { class: 'rate' })).toBe(1);
    m.close();
    await pool.close();
  });

  it('caps the model label so clients cannot grow the series without bound', async () => {
    const m = new GatewayMetrics({ defaultMetrics: false });
    for (let i = 0; i < 80; i++) m.recordRequest({ route: '/v1/chat/completions', model: `model-${i}`, status: 200, durationMs: 5, ttftMs: 1, tokensIn: 1, tokensOut: 1 });
    const metric = await m.registry.getSingleMetric('gateway_http_requests_total')?.get();
    const models = new Set(metric?.values.map((v) => v.labels.model));
    expect(models.size).toBe(51);
    expect(await value(m, 'gateway_http_requests_total', { model: 'other' })).toBe(30);
  });

  it('tracks streams in flight and the gaps between answer chunks only', async () => {
    const m = new GatewayMetrics({ defaultMetrics: false });
    const a = m.streamProbe();
    const b = m.streamProbe();
    expect(await value(m, 'gateway_streams_in_flight')).toBe(2);
    for (const text of ['a', 'b', 'c']) a.write([{ type: 'text', text }]);
    a.write([
      { type: 'usage', usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2, estimated: true } },
      { type: 'end', finishReason: 'stop' },
    ]);
    a.end();
    a.end();
    expect(await value(m, 'gateway_streams_in_flight')).toBe(1);
    b.end();
    expect(await value(m, 'gateway_streams_in_flight')).toBe(0);
    const gaps = await m.registry.getSingleMetric('gateway_stream_chunk_gap_seconds')?.get();
    expect(gaps?.values.find((v) => (v as { metricName?: string }).metricName === 'gateway_stream_chunk_gap_seconds_count')?.value).toBe(2);
  });

  it('keeps two gateways apart: each has its own registry', async () => {
    const a = new GatewayMetrics();
    const b = new GatewayMetrics();
    a.recordRequest({ route: '/x', model: undefined, status: 200, durationMs: 1, ttftMs: undefined, tokensIn: 0, tokensOut: 0 });
    expect(await value(a, 'gateway_http_requests_total', { route: '/x' })).toBe(1);
    expect(await value(b, 'gateway_http_requests_total', { route: '/x' })).toBeUndefined();
    expect((await b.render()).body).toContain('gateway_process_cpu_seconds_total');
    a.close();
    b.close();
  });
});
