import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as full from 'undici';
import { describe, expect, it } from 'vitest';
import { errors, Pool, request } from './undici-lean.js';

describe('undici-lean', () => {
  it('loads the same Pool and error classes as the package itself', () => {
    expect(Pool).toBe(full.Pool);
    expect(errors.ConnectTimeoutError).toBe(full.errors.ConnectTimeoutError);
    expect(errors.HeadersTimeoutError).toBe(full.errors.HeadersTimeoutError);
    expect(errors.BodyTimeoutError).toBe(full.errors.BodyTimeoutError);
  });

  it('makes a request through a Pool, body streamed back', async () => {
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ got: body, method: req.method })));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 1 });
    try {
      const res = await request(pool, { method: 'POST', path: '/x', body: 'hello', headers: { 'content-type': 'text/plain' } });
      expect(res.statusCode).toBe(201);
      expect(await res.body.json()).toEqual({ got: 'hello', method: 'POST' });
    } finally {
      await pool.close();
      server.close();
    }
  });
});
