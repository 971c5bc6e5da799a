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
