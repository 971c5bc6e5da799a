/**
 * The auth throttle across replicas: two gateways sharing one real redis-server count one address's failed
 * authentications together, so a guesser spreading its tries over the replicas is refused as soon as the shared
 * count passes AUTH_FAILURE_LIMIT, on both; another address is unaffected.
 */
import { Agent, request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../src/simulator/index.js';
import { CLIENT_KEY, UPSTREAM_KEYS, eventually, startTestGateway, type GatewayUnderTest } from './harness.js';
import { startRedis, type RedisServer } from './redis-helper.js';
import { describeNeeding, REDIS } from './requirements.js';

const describeWithRedis = describeNeeding(REDIS);
const LIMIT = 10;

let redis: RedisServer;
let sim: Simulator;
const replicas: GatewayUnderTest[] = [];
const guesser = new Agent({ localAddress: '127.0.0.7' });
const other = new Agent({ localAddress: '127.0.0.8' });

async function chat(url: string, key: string, dispatcher: Agent): Promise<{ status: number; retryAfter: string | undefined }> {
  const res = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    dispatcher,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'say hi' }] }),
  });
  await res.body.dump();
  const ra = res.headers['retry-after'];
  return { status: res.statusCode, retryAfter: Array.isArray(ra) ? ra[0] : ra };
}

beforeAll(async () => {
  redis = await startRedis();
  sim = await startSimulator({ keys: UPSTREAM_KEYS });
  for (let i = 0; i < 2; i++) {
    replicas.push(await startTestGateway(sim.url, { env: { SHUTDOWN_GRACE_MS: '1000', REDIS_URL: redis.url, AUTH_FAILURE_LIMIT: String(LIMIT), AUTH_FAILURE_WINDOW_SEC: '600' } }));
  }
}, 20_000);

afterAll(async () => {
  for (const r of replicas) await r.close();
  await sim?.close();
  await redis?.stop();
  await guesser.close();
  await other.close();
});

describeWithRedis('two replicas, one redis', () => {
  it('failures counted on A and on B add up: past the limit both refuse that address every key, with Retry-After', async () => {
    const [a, b] = replicas as [GatewayUnderTest, GatewayUnderTest];
    // LIMIT - 1 wrong keys on A: under the limit on A alone
    for (let i = 0; i < LIMIT - 1; i++) expect((await chat(a.url, `sk-wrong-on-a-${i}-0123456789`, guesser)).status).toBe(401);
    // the limit-th failure is B's first: still a 401, and from now on B refuses that address whatever it sends
    expect((await chat(b.url, 'sk-wrong-on-b-0-0123456789', guesser)).status).toBe(401);
    const onB = await chat(b.url, CLIENT_KEY, guesser);
    expect(onB.status).toBe(429);
    expect(Number(onB.retryAfter)).toBeGreaterThan(500);
    // A hears of it from B (the events channel): the right key is refused there too
    await eventually(async () => expect((await chat(a.url, CLIENT_KEY, guesser)).status).toBe(429));
    // another address is answered on both at once
    expect((await chat(a.url, CLIENT_KEY, other)).status).toBe(200);
    expect((await chat(b.url, CLIENT_KEY, other)).status).toBe(200);
  });

  it('the count lives in Redis under the prefix, with the window as its expiry', async () => {
    const { createClient } = await import('redis');
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      const key = 'odgw:authfail:127.0.0.7';
      expect(Number(await client.get(key))).toBe(LIMIT);
      const ttl = await client.pTTL(key);
      expect(ttl).toBeGreaterThan(500_000);
      expect(ttl).toBeLessThanOrEqual(600_000);
    } finally {
      await client.quit();
    }
  });
});
