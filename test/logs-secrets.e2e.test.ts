/**
 * No secret ever leaves the gateway: traffic of every kind (good answers, failing and dead upstream keys, client
 * 401s, admin calls that carry a raw key, malformed requests) with debug and trace logging, then every captured
 * log line, response body and response header is searched for every upstream, client and admin key.
 */
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { CLIENT_KEY, UPSTREAM_KEYS, fingerprintKey, startStack, type Stack } from './harness.js';

const ADMIN = 'adm-secret-admin-key-9876543210';
const ADDED = 'od-key-delta-444444';
const WRONG_CLIENT = 'sk-wrong-client-key-5555555555';
const NAMED = 'sk-named-client-key-7777777777';
const [ALPHA, BETA, GAMMA] = UPSTREAM_KEYS as [string, string, string];
const SECRETS = [...UPSTREAM_KEYS, ADDED, CLIENT_KEY, NAMED, ADMIN, WRONG_CLIENT];

const stacks: Stack[] = [];

afterAll(async () => {
  await Promise.all(stacks.map((s) => s.close()));
});

interface Seen {
  status: number;
  text: string;
}

/** Runs the traffic; returns every response as text (status line, headers and body). */
async function traffic(stack: Stack): Promise<{ responses: string[]; seen: Seen[] }> {
  const responses: string[] = [];
  const seen: Seen[] = [];
  const call = async (path: string, key: string | undefined, init: { method?: string; body?: unknown; raw?: string; header?: 'bearer' | 'x-api-key' } = {}) => {
    const headers: Record<string, string> = {};
    if (key !== undefined) {
      if (init.header === 'x-api-key') headers['x-api-key'] = key;
      else headers.authorization = `Bearer ${key}`;
    }
    if (init.body !== undefined || init.raw !== undefined) headers['content-type'] = 'application/json';
    const res = await request(`${stack.url}${path}`, {
      method: (init.method ?? (init.body === undefined && init.raw === undefined ? 'GET' : 'POST')) as 'GET',
      headers,
      ...(init.raw !== undefined ? { body: init.raw } : init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    const text = await res.body.text();
    responses.push(`${res.statusCode}\n${JSON.stringify(res.headers)}\n${text}`);
    seen.push({ status: res.statusCode, text });
    return res.statusCode;
  };
  const chat = (key: string | undefined, stream = false, header: 'bearer' | 'x-api-key' = 'bearer') =>
    call('/v1/chat/completions', key, { body: { model: 'gpt-4o', stream, messages: [{ role: 'user', content: 'hello' }] }, header });

  // good answers, both auth headers, a named client key
  expect(await chat(CLIENT_KEY)).toBe(200);
  expect(await chat(CLIENT_KEY, true, 'x-api-key')).toBe(200);
  expect(await chat(NAMED)).toBe(200);
  // Gemini clients: the key in the URL (moved into x-goog-api-key before routing), a right and a wrong one
  const gemini = { contents: [{ parts: [{ text: 'hello' }] }] };
  expect(await call(`/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=${CLIENT_KEY}`, undefined, { body: gemini })).toBe(200);
  expect(await call(`/v1beta/models/gemini-2.5-flash:generateContent?key=${WRONG_CLIENT}`, undefined, { body: gemini })).toBe(401);
  // failing upstream keys: one dead (401), one rate-limited, one failing with 500, then all refusing
  stack.sim.setKeyBehavior(ALPHA, { kind: 'http', status: 401 });
  stack.sim.setKeyBehavior(BETA, { kind: 'http', status: 429, retryAfterSec: 30, times: 1 });
  stack.sim.setKeyBehavior(GAMMA, { kind: 'http', status: 500, times: 1 });
  for (let i = 0; i < 3; i++) await chat(CLIENT_KEY, i % 2 === 0);
  stack.sim.setAllKeysBehavior({ kind: 'http', status: 401 });
  await chat(CLIENT_KEY);
  await chat(CLIENT_KEY, true);
  stack.sim.reset();
  // a stream cut after it started
  stack.sim.setKeyBehavior(BETA, { kind: 'cut', afterDeltas: 1 });
  stack.sim.setKeyBehavior(GAMMA, { kind: 'cut', afterDeltas: 1 });
  await chat(CLIENT_KEY, true);
  stack.sim.reset();
  // client 401s: no key, a wrong key in either header, the admin key on the API is fine but a client key on admin is not
  expect(await chat(undefined)).toBe(401);
  expect(await chat(WRONG_CLIENT)).toBe(401);
  expect(await chat(WRONG_CLIENT, false, 'x-api-key')).toBe(401);
  expect(await call('/admin/keys', CLIENT_KEY)).toBe(401);
  expect(await call('/admin/keys', WRONG_CLIENT)).toBe(401);
  expect(await call('/metrics', CLIENT_KEY)).toBe(401);
  // a key pasted into a query string or a path by mistake
  expect(await call(`/v1/models?key=${CLIENT_KEY}`, CLIENT_KEY)).toBe(200);
  expect(await call(`/v1/models?api_key=${WRONG_CLIENT}`, undefined)).toBe(401);
  expect(await call(`/admin/keys/${ALPHA}/disable`, ADMIN, { body: {} })).toBe(400);
  expect(await call(`/admin/keys/${ALPHA}`, ADMIN, { method: 'DELETE' })).toBe(400);
  expect(await call(`/v1/${BETA}`, CLIENT_KEY)).toBe(404);
  // admin calls, some carrying a raw key in the body
  expect(await call('/admin/keys', ADMIN)).toBe(200);
  expect(await call('/admin/keys', ADMIN, { body: { key: ADDED, label: 'delta' } })).toBe(201);
  expect(await call('/admin/keys', ADMIN, { body: { key: ADDED } })).toBe(409);
  expect(await call('/admin/keys', ADMIN, { body: { key: `${ADDED} ${GAMMA}` } })).toBe(400);
  expect(await call('/admin/keys', ADMIN, { body: { key: ALPHA, weight: -1 } })).toBe(400);
  expect(await call(`/admin/keys/${fingerprintKey(ADDED)}/test`, ADMIN, { body: {} })).toBe(200);
  expect(await call(`/admin/keys/${fingerprintKey(ALPHA)}/test`, ADMIN, { body: {} })).toBe(200);
  expect(await call(`/admin/keys/${fingerprintKey(BETA)}/disable`, ADMIN, { body: {} })).toBe(200);
  expect(await call(`/admin/keys/${fingerprintKey(BETA)}/enable`, ADMIN, { body: {} })).toBe(200);
  expect(await call('/admin/usage?days=7', ADMIN)).toBe(200);
  expect(await call('/admin/stats/timeseries', ADMIN)).toBe(200);
  expect(await call('/admin/errors/recent', ADMIN)).toBe(200);
  expect(await call('/metrics', ADMIN)).toBe(200);
  expect(await call('/admin/client-keys', ADMIN)).toBe(200);
  expect(await call(`/admin/keys/${fingerprintKey(ADDED)}`, ADMIN, { method: 'DELETE' })).toBe(200);
  // malformed requests
  expect(await call('/v1/chat/completions', CLIENT_KEY, { raw: `{"model":"${ALPHA}",` })).toBe(400);
  expect(await call('/v1/chat/completions', CLIENT_KEY, { body: { model: 'gpt-4o', messages: 'nope', user: GAMMA } })).toBe(400);
  expect(await call('/admin/keys', ADMIN, { raw: `{"key":"${ADDED}"` })).toBe(400);
  await call('/dashboard', undefined);
  return { responses, seen };
}

function expectNoSecret(where: string, text: string): void {
  for (const secret of SECRETS) {
    if (text.includes(secret)) {
      const at = text.indexOf(secret);
      throw new Error(`${where} contains a secret: …${text.slice(Math.max(0, at - 200), at + secret.length + 50)}…`);
    }
  }
}

describe.each(['debug', 'trace'])('no secret in logs or responses at LOG_LEVEL=%s', (level) => {
  it('runs every kind of traffic and finds no key anywhere', async () => {
    const stack = await startStack({
      env: {
        LOG_LEVEL: level,
        ADMIN_KEY: ADMIN,
        CLIENT_KEYS: JSON.stringify([{ name: 'named', key: NAMED }]),
        RETRY_DEADLINE_MS: '5000',
        ALL_KEYS_OUT_WAIT_MS: '0',
      },
      keys: [...UPSTREAM_KEYS, ADDED],
    });
    stacks.push(stack);
    // the simulator accepts ADDED, but the gateway starts with the three configured keys only
    stack.gateway.pool.replaceSource('env', UPSTREAM_KEYS);
    const { responses } = await traffic(stack);
    await stack.gateway.observability.usage.flush();
    const logs = stack.logs();
    // the log is not empty: a search of nothing finds nothing
    const lines = logs.split('\n').filter((l) => l.trim() !== '');
    expect(lines.length).toBeGreaterThan(30);
    expect(lines.some((l) => l.includes('"msg":"request"') && l.includes('"status":401'))).toBe(true);
    expectNoSecret(`LOG_LEVEL=${level} log`, logs);
    for (const r of responses) expectNoSecret('a response', r);
    // the keys were there to leak: the log names them, by fingerprint only
    expect(responses.length).toBeGreaterThan(35);
    expect(UPSTREAM_KEYS.filter((k) => logs.includes(fingerprintKey(k))).length).toBeGreaterThan(0);
  });
});
