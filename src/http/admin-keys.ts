/**
 * Per-key operator control over HTTP: see why and since when a key is out, and act on one key (operators of
 * other gateways asked for exactly this when a pool went bad). Mounted by the app under /admin behind the admin-key check; no auth here. Keys are named only by
 * fingerprint: no answer ever carries a raw key.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type GatewayError, gatewayError, invalidRequest } from '../core/errors.js';
import type { KeyPool } from '../keypool/pool.js';

export type KeyAdmin = Pick<KeyPool, 'list' | 'circuitInfo' | 'add' | 'remove' | 'enable' | 'disable' | 'test' | 'hasProbe'>;

const addKeyBody = z.object({
  key: z.string().trim().min(1).max(1024).regex(/^\S+$/, 'must not contain whitespace'),
  weight: z.number().positive().max(1000).optional(),
  label: z.string().trim().min(1).max(100).optional(),
});

/** Strict on purpose: whatever else is in the path (a raw key pasted by mistake) is never echoed back. */
const fpParams = z.object({ fp: z.string().regex(/^k:[0-9a-f]{8}(?:[0-9a-f]{8})?$/) });

export async function keyAdminRoutes(app: FastifyInstance, opts: { pool: KeyAdmin }): Promise<void> {
  const { pool } = opts;

  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('cache-control', 'no-store');
    return payload;
  });

  app.get('/keys', async () => ({ object: 'list', data: pool.list(), circuit: pool.circuitInfo() }));

  app.post('/keys', async (req, reply) => {
    const parsed = addKeyBody.safeParse(req.body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const param = issue?.path.join('.') || 'key';
      throw invalidRequest(`invalid key: ${param}: ${issue?.message ?? 'expected {"key": "...", "weight"?: number}'}`, param);
    }
    const { key, weight, label } = parsed.data;
    const result = pool.add(key, { weight, label, source: 'admin' });
    if (!result.added) {
      throw gatewayError('key_exists', `the key is already in the pool as ${result.key.fingerprint}`, { param: 'key' });
    }
    return reply.code(201).send(result.key);
  });

  app.delete('/keys/:fp', async (req) => {
    const fp = fingerprintParam(req.params);
    if (!pool.remove(fp)) throw keyNotFound(fp);
    return { fingerprint: fp, deleted: true };
  });

  app.post('/keys/:fp/enable', async (req) => {
    const fp = fingerprintParam(req.params);
    return pool.enable(fp) ?? throwNotFound(fp);
  });

  app.post('/keys/:fp/disable', async (req) => {
    const fp = fingerprintParam(req.params);
    return pool.disable(fp) ?? throwNotFound(fp);
  });

  app.post('/keys/:fp/test', async (req) => {
    const fp = fingerprintParam(req.params);
    if (!pool.hasProbe()) {
      throw gatewayError('probe_not_configured', 'no probe is configured, so keys cannot be tested');
    }
    return (await pool.test(fp)) ?? throwNotFound(fp);
  });
}

function fingerprintParam(params: unknown): string {
  const parsed = fpParams.safeParse(params);
  if (!parsed.success) throw invalidRequest('expected a key fingerprint such as k:3f9a1c2b in the path (never the key itself)', 'fp');
  return parsed.data.fp;
}

function keyNotFound(fp: string): GatewayError {
  return gatewayError('key_not_found', `no key with fingerprint ${fp}`, { param: 'fp' });
}

function throwNotFound(fp: string): never {
  throw keyNotFound(fp);
}
