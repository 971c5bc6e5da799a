/** The bytes on the wire: auth, public paths, bad input, routing headers, SSE framing, aborts, upstream errors. */
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLIENT_KEY, startStack, UPSTREAM_KEYS, type Stack } from './harness.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { PUBLIC_PATHS: '/v1/models', BODY_LIMIT_BYTES: '4096' } });
});
afterAll(async () => stack.close());
beforeEach(() => stack.sim.reset());

async function post(path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${CLIENT_KEY}` }) {
  const res = await request(`${stack.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as { error: Record<string, unknown> } };
}

function expectOpenAIError(json: unknown, type: string): void {
  expect(json).toEqual({
    error: {
      message: expect.any(String),
      type,
      param: expect.toSatisfy((v) => v === null || typeof v === 'string'),
      code: expect.toSatisfy((v) => v === null || typeof v === 'string'),
    },
  });
}

const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] };

describe('client auth', () => {
  it('accepts X-API-KEY (the original header) and Authorization: Bearer', async () => {
    expect((await post('/v1/chat/completions', chat, { 'x-api-key': CLIENT_KEY })).status).toBe(200);
    expect((await post('/v1/chat/completions', chat, { authorization: `Bearer ${CLIENT_KEY}` })).status).toBe(200);
  });

  it.each([
    ['missing', {}],
    ['wrong bearer', { authorization: 'Bearer sk-not-the-key-ECHOCHECK' }],
    ['wrong x-api-key', { 'x-api-key': 'sk-not-the-key-ECHOCHECK' }],
  ])('401 OpenAI-shaped when the key is %s, echoing nothing', async (_name, headers) => {
    const res = await post('/v1/chat/completions', chat, headers as Record<string, string>);
    expect(res.status).toBe(401);
    expectOpenAIError(res.json(), 'authentication_error');
    expect(res.text).not.toContain('ECHOCHECK');
    expect(stack.sim.stats().queries).toBe(0);
  });

  it('leaves /, /healthz, /readyz and PUBLIC_PATHS open, HEAD / too', async () => {
    for (const path of ['/', '/healthz', '/readyz', '/v1/models']) {
      const res = await request(`${stack.url}${path}`);
      expect(res.statusCode, path).toBe(200);
      await res.body.dump();
    }
    const head = await request(`${stack.url}/`, { method: 'HEAD' });
    expect(head.statusCode).toBe(200);
    await head.body.dump();
    const guarded = await request(`${stack.url}/v1/models/gpt-4o`);
    expect(guarded.statusCode).toBe(401);
    await guarded.body.dump();
  });
});

describe('bad input gets a 4xx and the process carries on', () => {
  it.each([
    ['invalid JSON', '{"model":', 400],
    ['no messages', { model: 'gpt-4o' }, 400],
    ['empty messages', { model: 'gpt-4o', messages: [] }, 400],
    ['wrong types', { model: 'gpt-4o', messages: 'hello' }, 400],
    ['a body over the limit', { model: 'gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(5000) }] }, 413],
  ])('%s', async (_name, body, status) => {
    const res = await post('/v1/chat/completions', body);
    expect(res.status).toBe(status);
    expectOpenAIError(res.json(), 'invalid_request_error');
  });

  it('unknown route or method: 404 OpenAI-shaped', async () => {
    const a = await post('/v1/nothing-here', chat);
    expect(a.status).toBe(404);
    expectOpenAIError(a.json(), 'invalid_request_error');
    const b = await request(`${stack.url}/v1/chat/completions`, { method: 'GET', headers: { authorization: `Bearer ${CLIENT_KEY}` } });
    expect(b.statusCode).toBe(404);
    expectOpenAIError(await b.body.json(), 'invalid_request_error');
    expect((await post('/v1/chat/completions', chat)).status).toBe(200);
  });
});

describe('model routing', () => {
  it('unknown names go to DEFAULT_MODEL, the response echoes the asked name and a header names the endpoint', async () => {
    const res = await post('/v1/chat/completions', { ...chat, model: 'some-unknown-model' });
    expect(res.status).toBe(200);
    expect(res.headers['x-ondemand-endpoint']).toBe('predefined-openai-gpt4o');
    expect((JSON.parse(res.text) as { model: string }).model).toBe('some-unknown-model');
  });

  it('aliases are case- and space-insensitive; predefined-/byoi-/byom- pass through', async () => {
    expect((await post('/v1/chat/completions', { ...chat, model: ' Claude-Sonnet-4-6 ' })).headers['x-ondemand-endpoint']).toBe('predefined-claude-sonnet-4-6');
    expect((await post('/v1/chat/completions', { ...chat, model: 'byom-my-model-7' })).headers['x-ondemand-endpoint']).toBe('byom-my-model-7');
  });

  it('STRICT_MODELS=true: an unknown name is 404 model_not_found', async () => {
    const strict = await startStack({ env: { STRICT_MODELS: 'true' } });
    try {
      const res = await request(`${strict.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_KEY}` },
        body: JSON.stringify({ ...chat, model: 'nope-model' }),
      });
      expect(res.statusCode).toBe(404);
      const json = (await res.body.json()) as { error: { code: string } };
      expect(json.error.code).toBe('model_not_found');
    } finally {
      await strict.close();
    }
  });
});

describe('SSE framing on the wire', () => {
  it('data: lines of JSON, [DONE] exactly once and last, X-Request-Id returned', async () => {
    const res = await post('/v1/chat/completions', { ...chat, stream: true }, { authorization: `Bearer ${CLIENT_KEY}`, 'x-request-id': 'trace-123' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/event-stream');
    expect(res.headers['x-request-id']).toBe('trace-123');
    const frames = res.text.split('\n\n').filter((f) => f.length > 0);
    expect(frames.at(-1)).toBe('data: [DONE]');
    expect(frames.filter((f) => f === 'data: [DONE]')).toHaveLength(1);
    for (const f of frames.slice(0, -1)) {
      expect(f.startsWith('data: ')).toBe(true);
      expect(() => JSON.parse(f.slice(6))).not.toThrow();
    }
    // heartbeat and statusLog frames never leak; the repeated full answer is never appended
    const content = frames
      .slice(0, -1)
      .map((f) => (JSON.parse(f.slice(6)) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '')
      .join('');
    expect(content).toBe('Hello from the OnDemand simulator (predefined-openai-gpt4o). You said: hello');
  });
});

describe('client hang-up', () => {
  it('aborts the upstream request at once and does not punish the key', async () => {
    stack.sim.setOptions({ deltaIntervalMs: 50, deltas: 40 });
    const ac = new AbortController();
    const res = await request(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_KEY}` },
      body: JSON.stringify({ ...chat, stream: true }),
      signal: ac.signal,
    });
    const reader = res.body[Symbol.asyncIterator]();
    await reader.next();
    ac.abort();
    await expect.poll(() => stack.sim.stats().abortedStreams, { timeout: 5000 }).toBe(1);
    expect(stack.sim.stats().openStreams).toBe(0);
    expect(stack.gateway.pool.list().every((k) => k.state === 'active' && k.inFlight === 0)).toBe(true);
  });
});

describe('upstream errors as the client sees them', () => {
  it('our only key refused (401): a 503 that blames the gateway key, never the client', async () => {
    const single = await startStack({ keys: [UPSTREAM_KEYS[0] as string] });
    try {
      single.sim.setAllKeysBehavior({ kind: 'http', status: 401 });
      const res = await request(`${single.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_KEY}` },
        body: JSON.stringify(chat),
      });
      expect(res.statusCode).toBe(503);
      const json = (await res.body.json()) as { error: { message: string; type: string } };
      expect(json.error.type).not.toBe('authentication_error');
      expect(json.error.message).toMatch(/gateway/i);
      expect(res.headers['retry-after']).toBeDefined();
      expect(JSON.stringify(json)).not.toContain(UPSTREAM_KEYS[0]);
      // the failed request's log line still says what was tried
      await expect
        .poll(
          () =>
            single
              .logs()
              .split('\n')
              .filter((l) => l.includes('"msg":"request"') && l.includes('"status":503')).length,
        )
        .toBe(1);
      const line = JSON.parse(
        single
          .logs()
          .split('\n')
          .find((l) => l.includes('"msg":"request"') && l.includes('"status":503')) ?? '{}',
      ) as Record<string, unknown>;
      expect(line).toMatchObject({ attempts: 1, endpoint: 'predefined-openai-gpt4o', upstreamKey: expect.stringMatching(/^k:[0-9a-f]{8}$/) });
    } finally {
      await single.close();
    }
  });
});
