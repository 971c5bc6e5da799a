import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { lazySchemaController } from './lazy-compilers.js';

describe('lazySchemaController', () => {
  it('still validates and serialises routes that declare a JSON schema', async () => {
    const app = Fastify({ schemaController: lazySchemaController });
    app.post(
      '/x',
      {
        schema: {
          body: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } },
          response: { 200: { type: 'object', properties: { n: { type: 'integer' } } } },
        },
      },
      async (request) => ({ n: (request.body as { n: number }).n, dropped: true }),
    );
    try {
      const bad = await app.inject({ method: 'POST', url: '/x', payload: { m: 1 } });
      expect(bad.statusCode).toBe(400);
      const good = await app.inject({ method: 'POST', url: '/x', payload: { n: 3 } });
      expect(good.statusCode).toBe(200);
      expect(good.json()).toEqual({ n: 3 }); // the response schema's serializer dropped the extra field
    } finally {
      await app.close();
    }
  });
});
