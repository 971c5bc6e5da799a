/**
 * /admin/client-keys: list, add and delete named client keys (mounted under /admin behind the admin key).
 * A key is shown once, in the answer to the POST that created it; nothing else ever returns it.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { GatewayError, gatewayError, invalidRequest, storeUnavailable } from '../core/errors.js';
import type { ClientAccess } from '../client-keys/access.js';
import { clientKeyCreateSchema } from '../client-keys/keys.js';

type ClientKeyAdmin = Pick<ClientAccess, 'list' | 'create' | 'remove'>;

const nameParams = z.object({ name: z.string().min(1).max(64) });

export async function clientKeyAdminRoutes(app: FastifyInstance, opts: { access: ClientKeyAdmin }): Promise<void> {
  const { access } = opts;

  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('cache-control', 'no-store');
    return payload;
  });

  app.get('/client-keys', async () => ({ object: 'list', data: access.list() }));

  app.post('/client-keys', async (req, reply) => {
    const parsed = clientKeyCreateSchema.safeParse(req.body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const param = issue?.path.join('.') || 'name';
      throw invalidRequest(`invalid client key: ${param}: ${issue?.message ?? 'expected {"name", "key"?, "models"?, "rpm"?, "tpd"?}'}`, param);
    }
    const created = await shared(() => access.create(parsed.data));
    return reply.code(201).send(created);
  });

  app.delete('/client-keys/:name', async (req) => {
    const parsed = nameParams.safeParse(req.params);
    if (!parsed.success) throw invalidRequest('expected a client key name in the path', 'name');
    const { name } = parsed.data;
    if (!(await shared(() => access.remove(name)))) {
      throw gatewayError('client_key_not_found', `no client key named "${name}"`, { param: 'name' });
    }
    return { name, deleted: true };
  });
}

/** A store failure (Redis away) is the operator's to retry: 503, not 500. */
async function shared<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw storeUnavailable(err);
  }
}
