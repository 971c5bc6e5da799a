import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnDemandClient } from './client.js';

let server: Server;
let client: OnDemandClient;
let sessions = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    const id = `s${++sessions}`;
    // the first answer is slow: it is still in flight when the Pool is recycled
    setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { id } })), sessions === 1 ? 80 : 0);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = new OnDemandClient({ baseUrl, userAgent: 'test', connectTimeoutMs: 1000, firstByteTimeoutMs: 1000, idleTimeoutMs: 1000 });
});

afterAll(async () => {
  await client.close();
  server.close();
});

describe('OnDemandClient.recycle', () => {
  it('lets a call in flight on the old Pool finish, resolves once that Pool is closed, and calls go on on the new one', async () => {
    const inFlight = client.createSession('k1');
    await new Promise((r) => setTimeout(r, 20));
    let recycled = false;
    const done = client.recycle().then(() => (recycled = true));
    expect(await client.createSession('k1')).toBe('s2'); // the new Pool answers at once
    expect(recycled).toBe(false); // the old one still waits for its slow call
    expect(await inFlight).toBe('s1');
    await done;
    expect(await client.createSession('k2')).toBe('s3');
  });
});
