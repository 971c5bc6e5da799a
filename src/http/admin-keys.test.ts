import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../core/errors.js';
import { keyAdminRoutes } from './admin-keys.js';
import { fingerprintKey } from '../ondemand/key-fingerprint.js';
import { KeyPool } from '../keypool/pool.js';
import { failed, ok } from '../keypool/test-helpers.js';
import type { ProbeFn } from '../keypool/types.js';

let app: FastifyInstance;
let pool: KeyPool;

async function build(probe?: ProbeFn) {
  pool = new KeyPool({ envKeys: ['sk-env-one'], probe, onError: () => {} });
  app = Fastify();
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof GatewayError) return reply.code(err.status).send(err.toOpenAI());
    return reply.code((err as { statusCode?: number }).statusCode ?? 500).send({ error: { message: (err as Error).message } });
  });
  await app.register(keyAdminRoutes, { prefix: '/admin', pool });
  await app.ready();
}

beforeEach(async () => {
  await build(async (key) => (key === 'sk-env-one' ? ok(12) : failed(401, { errorCode: 'unauthenticated' })));
});
afterEach(async () => {
  await app.close();
});

const one = fingerprintKey('sk-env-one');

describe('key admin routes', () => {
  it('GET /keys lists keys and the circuit, never raw keys', async () => {
    const res = await app.inject({ method: 'GET', url: '/admin/keys' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toMatchObject({ object: 'list', data: [{ fingerprint: one, state: 'active', source: 'env' }], circuit: { phase: 'closed' } });
    expect(res.body).not.toContain('sk-env-one');
  });

  it('POST /keys adds (201), refuses duplicates (409) and bad bodies (400)', async () => {
    const added = await app.inject({ method: 'POST', url: '/admin/keys', payload: { key: 'sk-new', weight: 2 } });
    expect(added.statusCode).toBe(201);
    expect(added.json()).toMatchObject({ fingerprint: fingerprintKey('sk-new'), weight: 2, source: 'admin' });
    expect(added.body).not.toContain('sk-new"');

    const dup = await app.inject({ method: 'POST', url: '/admin/keys', payload: { key: 'sk-new' } });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'key_exists' } });
    expect(dup.body).not.toContain('sk-new"');

    for (const payload of [{}, { key: '' }, { key: 'has space' }, { key: 'sk-x', weight: -1 }]) {
      const bad = await app.inject({ method: 'POST', url: '/admin/keys', payload });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.type).toBe('invalid_request_error');
    }
  });

  it('DELETE /keys/:fp removes, 404 when unknown, 400 (without echo) when not a fingerprint', async () => {
    expect((await app.inject({ method: 'DELETE', url: `/admin/keys/${one}` })).json()).toEqual({ fingerprint: one, deleted: true });
    const missing = await app.inject({ method: 'DELETE', url: `/admin/keys/${one}` });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('key_not_found');
    const pasted = await app.inject({ method: 'DELETE', url: '/admin/keys/sk-secret-pasted-by-mistake' });
    expect(pasted.statusCode).toBe(400);
    expect(pasted.body).not.toContain('sk-secret');
  });

  it('disable and enable', async () => {
    const off = await app.inject({ method: 'POST', url: `/admin/keys/${one}/disable` });
    expect(off.json()).toMatchObject({ state: 'disabled', reason: 'disabled by operator' });
    const on = await app.inject({ method: 'POST', url: `/admin/keys/${one}/enable` });
    expect(on.json()).toMatchObject({ state: 'probation' });
    expect((await app.inject({ method: 'POST', url: '/admin/keys/k:00000000/enable' })).statusCode).toBe(404);
  });

  it('POST /keys/:fp/test probes the key and reports the new state', async () => {
    pool.add('sk-revoked');
    const good = await app.inject({ method: 'POST', url: `/admin/keys/${one}/test` });
    expect(good.json()).toMatchObject({ outcome: { ok: true, latencyMs: 12 }, key: { state: 'active' } });
    const bad = await app.inject({ method: 'POST', url: `/admin/keys/${fingerprintKey('sk-revoked')}/test` });
    expect(bad.json()).toMatchObject({ outcome: { ok: false, class: 'auth', reason: '401 unauthenticated' }, key: { state: 'dead' } });
  });

  it('POST /keys/:fp/test answers 501 when no probe is wired', async () => {
    await app.close();
    await build(undefined);
    const res = await app.inject({ method: 'POST', url: `/admin/keys/${one}/test` });
    expect(res.statusCode).toBe(501);
    expect(res.json().error.code).toBe('probe_not_configured');
  });
});
