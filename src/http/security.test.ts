import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { HTML_SECURITY_HEADERS, applySecurity } from './security.js';

function app(origins: string[]) {
  const a = Fastify();
  applySecurity(a, { corsOrigins: origins });
  // stands in for the auth hook: preflights must be answered before it
  a.addHook('onRequest', async (req, reply) => {
    if (req.headers.authorization !== 'Bearer ok') return reply.code(401).send({ error: { message: 'no', type: 'authentication_error', param: null, code: null } });
    return undefined;
  });
  a.get('/page', async (_req, reply) => reply.type('text/html; charset=utf-8').send('<html></html>'));
  a.get('/own', async (_req, reply) => reply.type('text/html').header('content-security-policy', "default-src 'none'").send('<p>'));
  a.post('/v1/chat/completions', async () => ({ ok: true }));
  return a;
}

describe('security headers', () => {
  it('nosniff on every answer; CSP, frame and referrer policy on HTML unless the route set its own', async () => {
    const a = app([]);
    const page = await a.inject({ url: '/page', headers: { authorization: 'Bearer ok' } });
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    for (const [name, value] of Object.entries(HTML_SECURITY_HEADERS)) expect(page.headers[name]).toBe(value);
    const own = await a.inject({ url: '/own', headers: { authorization: 'Bearer ok' } });
    expect(own.headers['content-security-policy']).toBe("default-src 'none'");
    expect(own.headers['x-frame-options']).toBe('DENY');
    const json = await a.inject({ method: 'POST', url: '/v1/chat/completions', headers: { authorization: 'Bearer ok' }, payload: {} });
    expect(json.headers['x-content-type-options']).toBe('nosniff');
    expect(json.headers['content-security-policy']).toBeUndefined();
    const denied = await a.inject({ url: '/page' });
    expect(denied.statusCode).toBe(401);
    expect(denied.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe('CORS', () => {
  it('is off by default: no CORS header, a preflight is not answered', async () => {
    const a = app([]);
    const pre = await a.inject({
      method: 'OPTIONS',
      url: '/v1/chat/completions',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
    });
    expect(pre.statusCode).not.toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
    const post = await a.inject({ method: 'POST', url: '/v1/chat/completions', headers: { origin: 'https://app.example', authorization: 'Bearer ok' }, payload: {} });
    expect(post.statusCode).toBe(200);
    expect(post.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers a preflight from a listed origin before auth, and only for listed origins', async () => {
    const a = app(['https://app.example/']);
    const pre = await a.inject({
      method: 'OPTIONS',
      url: '/v1/chat/completions',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(pre.headers['access-control-allow-methods']).toContain('POST');
    expect(pre.headers['access-control-allow-headers']).toBe('authorization, content-type');
    expect(pre.headers['access-control-allow-credentials']).toBeUndefined();
    expect(pre.headers['vary']).toContain('Origin');

    const other = await a.inject({
      method: 'OPTIONS',
      url: '/v1/chat/completions',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(other.statusCode).toBe(401);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();

    const post = await a.inject({ method: 'POST', url: '/v1/chat/completions', headers: { origin: 'https://app.example', authorization: 'Bearer ok' }, payload: {} });
    expect(post.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(post.headers['access-control-expose-headers']).toContain('x-request-id');
    // an auth error is readable by the page too (so it can tell the user)
    const denied = await a.inject({ method: 'POST', url: '/v1/chat/completions', headers: { origin: 'https://app.example' }, payload: {} });
    expect(denied.statusCode).toBe(401);
    expect(denied.headers['access-control-allow-origin']).toBe('https://app.example');
  });

  it('`*` allows any origin without credentials', async () => {
    const a = app(['*']);
    const pre = await a.inject({
      method: 'OPTIONS',
      url: '/v1/models',
      headers: { origin: 'https://anything.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-api-key' },
    });
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('*');
  });
});
