import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnDemandClient } from './client.js';

let server: Server;
let client: OnDemandClient;
let sessions = 0;
const bodies: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (part: string) => (body += part));
    req.on('end', () => bodies.push(body));
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

describe('OnDemandClient.createSession', () => {
  it('sends valid JSON: a fresh external user id per session and no plugins', async () => {
    bodies.length = 0;
    await client.createSession('k1');
    await client.createSession('k1');
    const sent = bodies.map((b) => JSON.parse(b) as { externalUserId: string; pluginIds: unknown });
    for (const s of sent) {
      expect(Object.keys(s)).toEqual(['externalUserId', 'pluginIds']);
      expect(s.externalUserId).toMatch(/^gw-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(s.pluginIds).toEqual([]);
    }
    expect(sent[0]?.externalUserId).not.toBe(sent[1]?.externalUserId);
  });
});
