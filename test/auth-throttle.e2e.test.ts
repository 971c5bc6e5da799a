/**
 * Key guessing slowed: one address sending wrong keys gets 401s up to AUTH_FAILURE_LIMIT, then 429 with
 * Retry-After for every key it sends, the right one included, in each API's own error shape; another address is
 * answered at once. Each client binds its own loopback address (127.0.0.x), so the gateway sees distinct peers.
 * X-Forwarded-For is believed only from the proxies TRUSTED_PROXIES names.
 */
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KEY, startStack, type Stack } from './harness.js';

const ADMIN = 'sk-admin-throttle-test-0123456789';
const LIMIT = 20;

const agents = new Map<string, Agent>();
function from(address: string): Agent {
  let agent = agents.get(address);
  if (agent === undefined) {
    agent = new Agent({ localAddress: address });
    agents.set(address, agent);
  }
  return agent;
}

interface Answer {
  status: number;
  body: any;
  retryAfter: string | undefined;
}

async function send(url: string, address: string, key: string, opts: { path?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const path = opts.path ?? '/v1/chat/completions';
  const body =
    path === '/v1/messages'
      ? { model: 'claude-3-5-sonnet', max_tokens: 50, messages: [{ role: 'user', content: 'say hi' }] }
      : { model: 'gpt-4o', messages: [{ role: 'user', content: 'say hi' }] };
  const res = await request(`${url}${path}`, {
    method: path === '/metrics' ? 'GET' : 'POST',
    dispatcher: from(address),
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...opts.headers },
    ...(path === '/metrics' ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // metrics: text
  }
  const ra = res.headers['retry-after'];
  return { status: res.statusCode, body: parsed, retryAfter: Array.isArray(ra) ? ra[0] : ra };
}

afterAll(async () => {
  await Promise.all([...agents.values()].map((a) => a.close()));
});

describe('without a trusted proxy (the default)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { ADMIN_KEY: ADMIN, AUTH_FAILURE_LIMIT: String(LIMIT), AUTH_FAILURE_WINDOW_SEC: '600' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('300 wrong keys from one address: 401 up to the limit, then 429 with Retry-After; the right key from another address is answered at once', async () => {
    const statuses: number[] = [];
    const retryAfters: number[] = [];
    for (let i = 0; i < 300; i++) {
      const a = await send(stack.url, '127.0.0.3', `sk-wrong-guess-${i}-abcdef0123`);
      statuses.push(a.status);
      if (a.status === 429) {
        retryAfters.push(Number(a.retryAfter));
        if (i === LIMIT) expect(a.body).toMatchObject({ error: { type: 'rate_limit_error', code: 'auth_failures_throttled' } });
      } else {
        expect(a.body).toMatchObject({ error: { type: 'authentication_error', code: 'invalid_api_key' } });
      }
    }
    expect(statuses.slice(0, LIMIT).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(LIMIT).every((s) => s === 429)).toBe(true);
    expect(retryAfters.every((s) => Number.isInteger(s) && s >= 1 && s <= 600)).toBe(true);

    const other = await send(stack.url, '127.0.0.2', CLIENT_KEY);
    expect(other.status).toBe(200);
    expect(other.body.choices[0].message.content.length).toBeGreaterThan(0);
  });

  it('the throttled address is refused the right key too, on every API, in that API’s error shape', async () => {
    const right = await send(stack.url, '127.0.0.3', CLIENT_KEY);
    expect(right.status).toBe(429);
    expect(Number(right.retryAfter)).toBeGreaterThan(0);
    expect(right.body).toMatchObject({ error: { type: 'rate_limit_error', code: 'auth_failures_throttled' } });

    const anthropic = await send(stack.url, '127.0.0.3', CLIENT_KEY, { path: '/v1/messages' });
    expect(anthropic.status).toBe(429);
    expect(anthropic.body).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(anthropic.retryAfter).toBeDefined();

    const admin = await send(stack.url, '127.0.0.3', ADMIN, { path: '/metrics' });
    expect(admin.status).toBe(429);
  });

  it('a forged X-Forwarded-For does not move a guesser to a fresh count', async () => {
    const forged = await send(stack.url, '127.0.0.3', 'sk-wrong-again-abcdef0123', { headers: { 'x-forwarded-for': '198.51.100.77' } });
    expect(forged.status).toBe(429);
  });

  it('no key at all is a 401, never counted as a guess', async () => {
    for (let i = 0; i < LIMIT + 5; i++) {
      const res = await request(`${stack.url}/v1/models`, { dispatcher: from('127.0.0.4') });
      await res.body.dump();
      expect(res.statusCode).toBe(401);
    }
    expect((await send(stack.url, '127.0.0.4', CLIENT_KEY)).status).toBe(200);
  });

  it('the metrics count the wrong keys and the refusals', async () => {
    const m = await send(stack.url, '127.0.0.2', ADMIN, { path: '/metrics' });
    expect(m.status).toBe(200);
    const value = (name: string): number => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(String(m.body))?.[1]);
    expect(value('gateway_auth_failures_total')).toBe(LIMIT);
    // 280 wrong keys past the limit, the right key, the Anthropic request, the admin request, the forged header
    expect(value('gateway_auth_throttled_total')).toBe(300 - LIMIT + 4);
  });
});

describe('behind one trusted proxy hop (as on a Hugging Face Space)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { AUTH_FAILURE_LIMIT: '3', TRUSTED_PROXIES: '1' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('counts by the address the proxy names: one client behind it is throttled, another is not', async () => {
    const guesser = { 'x-forwarded-for': '203.0.113.7' };
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await send(stack.url, '127.0.0.5', `sk-wrong-${i}-abcdef012345`, { headers: guesser })).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    expect((await send(stack.url, '127.0.0.5', CLIENT_KEY, { headers: { 'x-forwarded-for': '203.0.113.8' } })).status).toBe(200);
    // only the nearest hop is trusted: an address the client itself put in front of the proxy's does not count
    expect((await send(stack.url, '127.0.0.5', CLIENT_KEY, { headers: { 'x-forwarded-for': '192.0.2.1, 203.0.113.7' } })).status).toBe(429);
  });
});

describe('AUTH_FAILURE_LIMIT=0', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { AUTH_FAILURE_LIMIT: '0' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('turns the throttle off: every wrong key is a 401', async () => {
    for (let i = 0; i < 30; i++) expect((await send(stack.url, '127.0.0.6', `sk-wrong-${i}-abcdef012345`)).status).toBe(401);
  });
});

describe('the start-up warning about weak keys', () => {
  it('names the setting of a short or common key, never the key, and stays quiet for long random ones', async () => {
    const weak = await startStack({ env: { PRIVATE_KEY: `password,${CLIENT_KEY}`, ADMIN_KEY: 'adm-7f3k' } });
    const strong = await startStack({ env: { ADMIN_KEY: ADMIN } });
    try {
      const warnings = weak
        .logs()
        .split('\n')
        .filter((l) => l.includes('anyone who can reach the gateway may guess it'));
      expect(warnings.map((l) => JSON.parse(l).msg as string).sort()).toEqual([
        expect.stringContaining('a key in ADMIN_KEY is shorter than 16 characters'),
        expect.stringContaining('a key in PRIVATE_KEY is a common password'),
      ]);
      expect(weak.logs()).not.toContain('adm-7f3k');
      expect(strong.logs()).not.toContain('may guess it');
    } finally {
      await weak.close();
      await strong.close();
    }
  });
});
