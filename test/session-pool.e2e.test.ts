/**
 * SESSION_POOL_SIZE on: sessions are created ahead of time, a request sends only its query upstream, and no
 * session is ever given a second query. The proof that the hot path makes no session call: session creation is
 * made to hang upstream, and requests still complete.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KEY, startStack, type Stack } from './harness.js';

const KEY = 'od-key-pool-0000001';
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ keys: [KEY], env: { SESSION_POOL_SIZE: '2', SESSION_POOL_TTL_SEC: '600' } });
});
afterAll(async () => stack.close());

async function chat(stream: boolean, said: string): Promise<{ status: number; body: string }> {
  const res = await request(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', stream, messages: [{ role: 'user', content: said }] }),
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  return { status: res.statusCode, body: await res.body.text() };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
}

describe('session pool', () => {
  it('serves requests from sessions created ahead of time, one query per session', async () => {
    const first = await chat(false, 'warm up');
    expect(first.status).toBe(200);
    // the first request created its session inline; the pool then filled up to two more
    await until(() => stack.sim.stats().sessionsCreated === 3);

    // from now on a session call never answers: a request that needed one would hang
    stack.sim.setKeyBehavior(KEY, { kind: 'stall', on: 'session' });
    const second = await chat(false, 'from the pool');
    expect(second.status).toBe(200);
    expect(JSON.parse(second.body).choices[0].message.content).toContain('You said: from the pool');
    const third = await chat(true, 'streamed from the pool');
    expect(third.status).toBe(200);
    expect(third.body).toContain('data: [DONE]');

    const stats = stack.sim.stats();
    expect(stats.queries).toBe(3);
    expect(stats.sessionsCreated).toBe(3);
    expect(stats.sessionsReused).toBe(0);
    expect(stats.crossKeyQueries).toBe(0);
  });
});

describe('session pool: sessions the upstream forgot', () => {
  const KEYS = ['od-key-pool-stale-001', 'od-key-pool-stale-002'];
  const ADMIN = 'admin-key-for-the-stale-session-test';
  let stale: Stack;

  beforeAll(async () => {
    stale = await startStack({ keys: KEYS, env: { SESSION_POOL_SIZE: '3', SESSION_POOL_TTL_SEC: '600', MAX_ATTEMPTS: '3', ADMIN_KEY: ADMIN } });
  });
  afterAll(async () => stale.close());

  it('a query on a forgotten pooled session is retried once, with a freshly created session, and no key is blamed', async () => {
    const post = async (stream: boolean, said: string) => {
      const res = await request(`${stale.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o', stream, messages: [{ role: 'user', content: said }] }),
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      return { status: res.statusCode, body: await res.body.text() };
    };
    // warm both keys' pools (each key is warmed on its first request; round robin or not, a few requests do it)
    for (let i = 0; i < 4; i++) expect((await post(false, `warm ${i}`)).status).toBe(200);
    await until(() => stale.sim.stats().sessionsCreated >= 4 + 2 * 3);
    expect(stale.sim.forgetSessions()).toBeGreaterThan(0);
    const before = stale.sim.stats();

    // the first request: a pooled session on a forgotten session (404), then another key with a session made for it
    const res = await post(false, 'after the upstream forgot');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).choices[0].message.content).toContain('You said: after the upstream forgot');
    expect(stale.sim.stats().queries - before.queries).toBe(2);
    // a 404 also empties that key's pool: at most one more 404 (the other key's) over the next requests
    for (let i = 0; i < 4; i++) {
      const streamed = await post(i % 2 === 0, `after ${i}`);
      expect(streamed.status).toBe(200);
      expect(streamed.body).toContain(i % 2 === 0 ? 'data: [DONE]' : `You said: after ${i}`);
    }
    expect(stale.sim.stats().queries - before.queries).toBeLessThanOrEqual(2 + 4 + 1);

    const keys = await request(`${stale.url}/admin/keys`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(keys.statusCode).toBe(200);
    const list = (await keys.body.json()) as { data: Array<{ state: string; consecutiveFailures: number }> };
    expect(list.data).toHaveLength(2);
    for (const k of list.data) expect(k.state).toBe('active');
  });
});
