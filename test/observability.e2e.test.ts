/**
 * Health, readiness, /metrics, usage accounting, the last hour's series, recent errors, the log line and the
 * dashboard's static files, through a real gateway in front of the simulator.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFingerprint } from '../src/observability/index.js';
import { CLIENT_KEY, UPSTREAM_KEYS, fingerprintKey, startStack, type Stack } from './harness.js';

const ADMIN = 'adm-observability-0123456789';
const [ALPHA, BETA, GAMMA] = UPSTREAM_KEYS as [string, string, string];
let stack: Stack;

async function call(path: string, key: string | undefined, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const res = await request(`${stack.url}${path}`, {
    method: (init.method ?? (init.body === undefined ? 'GET' : 'POST')) as 'GET',
    headers: {
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.body.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.statusCode, headers: res.headers, body, text };
}

const chat = (stream = false, model = 'gpt-4o', headers: Record<string, string> = {}) =>
  call('/v1/chat/completions', CLIENT_KEY, { body: { model, stream, messages: [{ role: 'user', content: 'hello there' }] }, headers });

/** one sample's value from the Prometheus text, or undefined */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

beforeAll(async () => {
  // the session pool off: these tests count upstream calls exactly, and refills would add session calls
  stack = await startStack({ env: { ADMIN_KEY: ADMIN, MAX_ATTEMPTS: '3', SESSION_POOL_SIZE: '0' }, sim: { deltas: 4, deltaIntervalMs: 15 } });
});

afterAll(async () => {
  await stack?.close();
});

describe('health and readiness', () => {
  it('GET and HEAD / answer 200 without a key; /healthz says ok', async () => {
    expect((await call('/', undefined)).status).toBe(200);
    const head = await call('/', undefined, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    const health = await call('/healthz', undefined);
    expect(health).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('/readyz is 200 with a usable key and 503 when none is left', async () => {
    expect(await call('/readyz', undefined)).toMatchObject({ status: 200, body: { status: 'ready', usableKeys: 3 } });
    for (const k of UPSTREAM_KEYS) expect((await call(`/admin/keys/${fingerprintKey(k)}/disable`, ADMIN, { body: {} })).status).toBe(200);
    expect(await call('/readyz', undefined)).toMatchObject({ status: 503, body: { status: 'not_ready', usableKeys: 0 } });
    for (const k of UPSTREAM_KEYS) expect((await call(`/admin/keys/${fingerprintKey(k)}/enable`, ADMIN, { body: {} })).status).toBe(200);
    expect((await call('/readyz', undefined)).status).toBe(200);
  });
});

describe('traffic is counted', () => {
  beforeAll(async () => {
    stack.sim.reset();
    // two good answers, one streamed; one failover (alpha refuses once); one 401; one 404 model? (non-strict: served)
    expect((await chat(false, 'gpt-4o', { 'x-request-id': 'req-observe-1' })).status).toBe(200);
    expect((await chat(true)).status).toBe(200);
    stack.sim.setAllKeysBehavior({ kind: 'http', status: 500, times: 3 });
    const failed = await chat(false, 'gpt-4o', { 'x-request-id': 'req-observe-fail' });
    expect(failed.status).toBeGreaterThanOrEqual(500);
    stack.sim.reset();
    expect((await call('/v1/chat/completions', 'sk-wrong', { body: { model: 'gpt-4o', messages: [] } })).status).toBe(401);
  });

  it('/metrics needs the admin key and lists every series the README documents', async () => {
    expect((await call('/metrics', undefined)).status).toBe(401);
    expect((await call('/metrics', CLIENT_KEY)).status).toBe(401);
    const m = await call('/metrics', ADMIN);
    expect(m.status).toBe(200);
    expect(m.headers['content-type']).toContain('text/plain');
    const text = m.text;
    expect(sample(text, 'gateway_http_requests_total', { route: '/v1/chat/completions', model: 'gpt-4o', status: '200' })).toBe(2);
    expect(sample(text, 'gateway_http_requests_total', { route: '/v1/chat/completions', status: '401' })).toBe(1);
    expect(sample(text, 'gateway_time_to_first_token_seconds_count', { model: 'gpt-4o' })).toBe(2);
    expect(sample(text, 'gateway_request_duration_seconds_count', { route: '/v1/chat/completions' })).toBe(4);
    // 4 deltas 15 ms apart in the one streamed answer: a gap per write after the first (deltas read together are
    // written together, so up to 3), none for the non-stream answers
    const gaps = sample(text, 'gateway_stream_chunk_gap_seconds_count') ?? 0;
    expect(gaps).toBeGreaterThanOrEqual(1);
    expect(gaps).toBeLessThanOrEqual(3);
    expect(sample(text, 'gateway_streams_in_flight')).toBe(0);
    expect(sample(text, 'gateway_tokens_total', { model: 'gpt-4o', direction: 'in' })).toBeGreaterThan(0);
    expect(sample(text, 'gateway_tokens_total', { model: 'gpt-4o', direction: 'out' })).toBeGreaterThan(0);
    // 2 ok calls, then 3 keys × 500 (transient) on the failed request, with 2 failovers
    let ok = 0;
    let transient = 0;
    for (const k of UPSTREAM_KEYS) {
      ok += sample(text, 'gateway_upstream_calls_total', { key: fingerprintKey(k), outcome: 'ok' }) ?? 0;
      transient += sample(text, 'gateway_upstream_calls_total', { key: fingerprintKey(k), outcome: 'transient' }) ?? 0;
    }
    expect(ok).toBe(2);
    expect(transient).toBe(3);
    expect(sample(text, 'gateway_failovers_total')).toBe(2);
    expect(text).toContain('gateway_key_cooldowns_total');
    expect(text).toContain('gateway_circuit_trips_total');
    expect(sample(text, 'gateway_keys', { state: 'disabled' })).toBe(0);
    expect(
      (sample(text, 'gateway_keys', { state: 'active' }) ?? 0) +
        (sample(text, 'gateway_keys', { state: 'degraded' }) ?? 0) +
        (sample(text, 'gateway_keys', { state: 'probation' }) ?? 0),
    ).toBe(3);
    expect(sample(text, 'gateway_key_state', { key: fingerprintKey(ALPHA) })).toBe(1);
    expect(text).toContain('gateway_process_cpu_seconds_total');
    for (const k of [CLIENT_KEY, ADMIN, ...UPSTREAM_KEYS]) expect(text).not.toContain(k);
  });

  it('GET /admin/usage gives requests, tokens and errors per day, model, client and upstream key', async () => {
    expect((await call('/admin/usage', CLIENT_KEY)).status).toBe(401);
    const u = await call('/admin/usage?days=7', ADMIN);
    expect(u.status).toBe(200);
    expect(u.headers['cache-control']).toBe('no-store');
    expect(u.body).toMatchObject({ object: 'usage', days: 7 });
    expect(u.body.totals).toMatchObject({ requests: 3, errors: 1 });
    expect(u.body.totals.tokensIn).toBeGreaterThan(0);
    expect(u.body.byModel).toEqual([expect.objectContaining({ model: 'gpt-4o', requests: 3, errors: 1 })]);
    expect(u.body.byClient).toEqual([expect.objectContaining({ client: clientFingerprint(CLIENT_KEY), requests: 3 })]);
    const day = new Date().toISOString().slice(0, 10);
    for (const row of u.body.data) {
      expect(row.day).toBe(day);
      expect(row.upstreamKey === '-' || /^k:[0-9a-f]{8}$/.test(row.upstreamKey)).toBe(true);
    }
    expect((await call('/admin/usage?days=0', ADMIN)).status).toBe(400);
    expect(u.text).not.toContain(CLIENT_KEY);
  });

  it('usage is written to the SQLite file in batches and read back', async () => {
    await stack.gateway.observability.usage.flush();
    const u = await call('/admin/usage?days=1', ADMIN);
    expect(u.body.totals.requests).toBe(3);
  });

  it('GET /admin/stats/timeseries has the last hour per minute', async () => {
    const s = await call('/admin/stats/timeseries', ADMIN);
    expect(s.status).toBe(200);
    expect(s.body.points).toHaveLength(60);
    const total = s.body.points.reduce((n: number, p: any) => n + p.requests, 0);
    const errors = s.body.points.reduce((n: number, p: any) => n + p.clientErrors + p.serverErrors, 0);
    expect(total).toBe(4);
    expect(errors).toBe(2);
    const last = s.body.points.at(-1);
    expect(Date.parse(last.t)).toBeLessThanOrEqual(Date.now());
  });

  it('GET /admin/errors/recent lists failures with their request ids, newest first', async () => {
    const e = await call('/admin/errors/recent', ADMIN);
    expect(e.status).toBe(200);
    expect(e.body.data.map((x: any) => x.status)).toEqual([401, expect.any(Number)]);
    expect(e.body.data[1]).toMatchObject({ requestId: 'req-observe-fail', model: 'gpt-4o', attempts: 3, path: '/v1/chat/completions' });
    expect(e.body.data[0]).toMatchObject({ code: 'invalid_api_key' });
    expect(e.text).not.toContain('sk-wrong');
  });

  it('writes one JSON log line per request with the fields an operator needs', () => {
    const lines = stack
      .logs()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const line = lines.find((l) => l.reqId === 'req-observe-1' && l.msg === 'request');
    expect(line).toMatchObject({ status: 200, model: 'gpt-4o', path: '/v1/chat/completions', attempts: 1 });
    expect(line?.endpoint).toEqual(expect.any(String));
    expect(line?.upstreamKey).toMatch(/^k:[0-9a-f]{8}$/);
    expect(line?.ttftMs).toEqual(expect.any(Number));
    expect(line?.durationMs).toEqual(expect.any(Number));
    expect(line?.tokensIn).toBeGreaterThan(0);
    expect(line?.tokensOut).toBeGreaterThan(0);
  });

  it('returns the request id it was given, or a fresh one', async () => {
    const given = await chat(false, 'gpt-4o', { 'x-request-id': 'req-echo-42' });
    expect(given.headers['x-request-id']).toBe('req-echo-42');
    const fresh = await call('/healthz', undefined);
    expect(fresh.headers['x-request-id']).toMatch(/^req_[0-9a-f]{32}$/);
  });
});

describe('dashboard files', () => {
  it('serves the page and its assets without a key, with security headers and no external URL', async () => {
    const page = await call('/dashboard', undefined);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    for (const asset of ['/dashboard/app.js', '/dashboard/app.css', '/dashboard/icon.svg']) {
      const a = await call(asset, undefined);
      expect(a.status, asset).toBe(200);
      expect(a.headers['x-content-type-options']).toBe('nosniff');
      expect(a.text).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
    }
    expect(page.text).not.toMatch(/https?:\/\//);
    expect((await call('/dashboard/nope.js', undefined)).status).toBe(404);
  });

  it('keeps every data API behind the admin key', async () => {
    for (const path of ['/admin/keys', '/admin/usage', '/admin/stats/timeseries', '/admin/errors/recent', '/metrics']) {
      expect((await call(path, undefined)).status, path).toBe(401);
    }
  });
});

describe('METRICS_PUBLIC', () => {
  it('opens /metrics (and nothing else) without a key', async () => {
    const open = await startStack({ env: { ADMIN_KEY: ADMIN, METRICS_PUBLIC: 'true' } });
    try {
      const m = await request(`${open.url}/metrics`);
      expect(m.statusCode).toBe(200);
      expect(await m.body.text()).toContain('gateway_http_requests_total');
      const k = await request(`${open.url}/admin/keys`);
      expect(k.statusCode).toBe(401);
      await k.body.dump();
    } finally {
      await open.close();
    }
  });

  it('keeps the series of two gateways in one process apart', async () => {
    const other = await startStack({ env: { ADMIN_KEY: ADMIN } });
    try {
      const m = await request(`${other.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } });
      const text = await m.body.text();
      expect(sample(text, 'gateway_http_requests_total', { route: '/v1/chat/completions', status: '200' })).toBeUndefined();
      expect(BETA).not.toBe(GAMMA);
    } finally {
      await other.close();
    }
  });
});
