/**
 * Named client keys on a single instance (SQLite, no Redis): configured keys with model lists and limits,
 * keys added and deleted through /admin/client-keys, and PRIVATE_KEY still working without limits.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KEY, startStack, type Stack } from './harness.js';

const LIMITED = 'sk-limited-0123456789';
const TOKENS = 'sk-tokens-0123456789';
let stack: Stack;

async function call(path: string, key: string | undefined, init: { method?: string; body?: unknown } = {}) {
  const res = await request(`${stack.url}${path}`, {
    method: (init.method ?? (init.body === undefined ? 'GET' : 'POST')) as 'GET',
    headers: { ...(key === undefined ? {} : { authorization: `Bearer ${key}` }), ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.body.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  const ra = res.headers['retry-after'];
  return { status: res.statusCode, body, text, retryAfter: Array.isArray(ra) ? ra[0] : ra };
}

const chat = (key: string, model = 'gpt-4o', stream = false) =>
  call('/v1/chat/completions', key, { body: { model, stream, messages: [{ role: 'user', content: 'hello there' }] } });

beforeAll(async () => {
  stack = await startStack({
    env: {
      CLIENT_KEYS: JSON.stringify([
        { name: 'limited', key: LIMITED, rpm: 2, models: ['gpt-4o'] },
        { name: 'tokens', key: TOKENS, tpd: 5 },
      ]),
    },
  });
});

afterAll(async () => {
  await stack?.close();
});

describe('client keys', () => {
  it('PRIVATE_KEY keeps working, unnamed and unlimited', async () => {
    const results = await Promise.all([1, 2, 3, 4].map(() => chat(CLIENT_KEY)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
  });

  it('a key may use only its models, and no more than its requests a minute', async () => {
    const denied = await chat(LIMITED, 'claude-3-5-sonnet');
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({ type: 'permission_error', code: 'model_not_allowed', param: 'model' });
    expect((await chat(LIMITED)).status).toBe(200);
    expect((await chat(LIMITED)).status).toBe(200);
    const over = await chat(LIMITED);
    expect(over.status).toBe(429);
    expect(over.body.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded', param: null });
    expect(Number(over.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(over.text).not.toContain(LIMITED);
    expect(stack.logs()).toContain('"client":"limited"');
  });

  it('tokens per day are counted from answers, streamed ones too', async () => {
    const first = await chat(TOKENS, 'gpt-4o', true);
    expect(first.status).toBe(200);
    expect(first.text).toContain('data: [DONE]');
    const second = await chat(TOKENS);
    expect(second.status).toBe(429);
    expect(second.body.error.code).toBe('tokens_per_day_exceeded');
    expect(Number(second.retryAfter)).toBeGreaterThanOrEqual(1);
  });

  it('the admin API adds, lists and deletes keys; a key is shown only once', async () => {
    const created = await call('/admin/client-keys', CLIENT_KEY, { body: { name: 'app-one', rpm: 100, models: ['gpt-4o'] } });
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    expect(key).toMatch(/^sk-gw-/);
    expect((await chat(key)).status).toBe(200);

    const list = await call('/admin/client-keys', CLIENT_KEY);
    expect(list.status).toBe(200);
    expect(list.body.data.map((k: { name: string }) => k.name)).toEqual(['limited', 'tokens', 'app-one']);
    expect(list.text).not.toContain(key);
    expect(list.text).not.toContain(LIMITED);

    expect((await call('/admin/client-keys', CLIENT_KEY, { body: { name: 'app-one' } })).status).toBe(409);
    expect((await call('/admin/client-keys', CLIENT_KEY, { body: { name: 'bad name!' } })).status).toBe(400);
    expect((await call('/admin/client-keys/limited', CLIENT_KEY, { method: 'DELETE' })).status).toBe(409);
    expect((await call('/admin/client-keys', LIMITED)).status).toBe(401);

    const deleted = await call('/admin/client-keys/app-one', CLIENT_KEY, { method: 'DELETE' });
    expect(deleted.body).toEqual({ name: 'app-one', deleted: true });
    const after = await chat(key);
    expect(after.status).toBe(401);
    expect(after.body.error.type).toBe('authentication_error');
    expect((await call('/admin/client-keys/app-one', CLIENT_KEY, { method: 'DELETE' })).status).toBe(404);
  });
});
