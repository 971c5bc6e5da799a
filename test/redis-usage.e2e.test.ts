/**
 * Usage counters shared in Redis: three replicas on one real redis-server in front of one simulator.
 * `/admin/usage` on any replica shows the cluster's totals; a flush whose reply is lost is counted exactly once;
 * Redis going away keeps the counts in memory and writes them once it is back.
 */
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { UsageRecorder } from '../src/observability/usage.js';
import { startSimulator, type Simulator } from '../src/simulator/index.js';
import { RedisConnection, redisUp } from '../src/store/redis-connection.js';
import { RedisUsageStore } from '../src/store/redis-usage.js';
import type { UsageRow } from '../src/store/types.js';
import { CLIENT_KEY, UPSTREAM_KEYS, startTestGateway, until, type GatewayUnderTest } from './harness.js';
import { startRedis, type RedisServer } from './redis-helper.js';
import { describeNeeding, REDIS } from './requirements.js';

const describeWithRedis = describeNeeding(REDIS);

type Replica = GatewayUnderTest;

let redis: RedisServer;
let sim: Simulator;
const replicas: Replica[] = [];

function startReplica(): Promise<Replica> {
  return startTestGateway(sim.url, { env: { LOG_LEVEL: 'warn', SHUTDOWN_GRACE_MS: '1000', REDIS_URL: redis.url } });
}

interface Sent {
  requests: number;
  tokensIn: number;
  tokensOut: number;
}

async function chat(url: string, sent: Sent): Promise<void> {
  const res = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'say hi' }] }),
  });
  const body = (await res.body.json()) as { usage?: { prompt_tokens: number; completion_tokens: number } };
  expect(res.statusCode).toBe(200);
  sent.requests++;
  sent.tokensIn += body.usage?.prompt_tokens ?? 0;
  sent.tokensOut += body.usage?.completion_tokens ?? 0;
}

async function usageOn(r: Replica): Promise<{ status: number; body: any }> {
  const res = await request(`${r.url}/admin/usage?days=2`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } });
  return { status: res.statusCode, body: await res.body.json() };
}

function row(day: string, requests: number): UsageRow {
  return { day, model: 'gpt-4o', client: 'c:multi', upstreamKey: 'k:test', requests, tokensIn: 10 * requests, tokensOut: 3 * requests, errors: 0 };
}

beforeAll(async () => {
  redis = await startRedis();
  sim = await startSimulator({ keys: UPSTREAM_KEYS });
  for (let i = 0; i < 3; i++) replicas.push(await startReplica());
}, 20_000);

afterAll(async () => {
  for (const r of replicas) await r.close();
  await sim?.close();
  await redis?.stop();
});

describeWithRedis('usage counters in redis', () => {
  it('/admin/usage on replica A shows the traffic of A, B and C', async () => {
    const [a, b, c] = replicas as [Replica, Replica, Replica];
    const sent: Sent = { requests: 0, tokensIn: 0, tokensOut: 0 };
    for (const [r, n] of [
      [a, 2],
      [b, 3],
      [c, 4],
    ] as const)
      for (let i = 0; i < n; i++) await chat(r.url, sent);
    // B and C hand their batches to Redis (their timers would in 10 s); A's are still in memory and shown too
    await b.gateway.observability.usage.flush();
    await c.gateway.observability.usage.flush();

    const onA = await usageOn(a);
    expect(onA.status).toBe(200);
    expect(onA.body.totals).toEqual({ requests: 9, tokensIn: sent.tokensIn, tokensOut: sent.tokensOut, errors: 0 });
    expect(sent.tokensIn).toBeGreaterThan(0);

    // once A has flushed too, every replica shows the same cluster totals, and nothing is counted twice
    await a.gateway.observability.usage.flush();
    await a.gateway.observability.usage.flush();
    for (const r of replicas) expect((await usageOn(r)).body.totals).toEqual(onA.body.totals);
  });

  it('a flush whose reply was lost is counted once, not twice', async () => {
    const conn = new RedisConnection({ url: redis.url, prefix: 'lost-reply:', commandTimeoutMs: 1000 });
    await conn.start();
    const store = new RedisUsageStore(conn, { retentionDays: 3 });
    const recorder = new UsageRecorder({ store, flushIntervalMs: 0 });
    try {
      const realEval = conn.eval.bind(conn);
      let lose = 1;
      conn.eval = async <T>(script: string, keys: readonly string[], args: readonly (string | number)[]): Promise<T> => {
        const result = await realEval<T>(script, keys, args); // Redis ran it...
        if (lose-- > 0) throw new Error('reply lost'); // ...but the answer never came back
        return result;
      };
      const day = new Date().toISOString().slice(0, 10);
      const at = Date.now();
      for (let i = 0; i < 4; i++) recorder.record({ at, model: 'gpt-4o', client: 'c:x', upstreamKey: 'k:y', tokensIn: 5, tokensOut: 2, error: i === 0 });
      await recorder.flush(); // applied in Redis, not acknowledged: held by the store, not handed back
      expect(store.unconfirmed).toBe(1);
      recorder.record({ at, model: 'gpt-4o', client: 'c:x', upstreamKey: 'k:y', tokensIn: 5, tokensOut: 2, error: false });
      await recorder.flush(); // resends the held batch (already counted: skipped), then the new one
      expect(store.unconfirmed).toBe(0);
      expect(await store.loadUsage(day)).toEqual([{ day, model: 'gpt-4o', client: 'c:x', upstreamKey: 'k:y', requests: 5, tokensIn: 25, tokensOut: 10, errors: 1 }]);
      expect((await recorder.report(1)).totals).toEqual({ requests: 5, tokensIn: 25, tokensOut: 10, errors: 1 });
      // the day's hash expires USAGE_RETENTION_DAYS after the day ends
      const expireAt = Number(await conn.client.sendCommand(['PEXPIRETIME', `lost-reply:usage:${day}`]));
      expect(expireAt).toBe(Date.parse(`${day}T00:00:00Z`) + 4 * 86_400_000);
      // one script per flush: a batch over several days lands whole
      const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
      await store.addUsage([row(yesterday, 2), row(day, 3)]);
      const multi = (await store.loadUsage(yesterday)).filter((r) => r.client === 'c:multi');
      expect(multi.map((r) => [r.day, r.requests, r.tokensIn])).toEqual([
        [yesterday, 2, 20],
        [day, 3, 30],
      ]);
    } finally {
      await recorder.close();
      await store.close();
      await conn.close();
    }
  });

  it('redis down: usage stays in memory, /admin/usage says 503, and it is written once when redis is back', async () => {
    const [a, b] = replicas as [Replica, Replica, Replica];
    await redis.kill();
    await until('every replica notices', () => redisUp() === 0);
    const sent: Sent = { requests: 0, tokensIn: 0, tokensOut: 0 };
    for (let i = 0; i < 3; i++) await chat(a.url, sent);
    await a.gateway.observability.usage.flush(); // refused by the store: kept in the recorder
    await a.gateway.observability.usage.flush();
    const down = await usageOn(a);
    expect(down.status).toBe(503);
    expect(down.body.error).toMatchObject({ type: 'api_error', code: 'usage_store_unavailable' });

    await redis.restart(); // empty: persistence is off
    await until('every replica reconnects', () => redisUp() === 1);
    await a.gateway.observability.usage.flush();
    await a.gateway.observability.usage.flush();
    const back = await usageOn(b);
    expect(back.status).toBe(200);
    expect(back.body.totals).toEqual({ requests: 3, tokensIn: sent.tokensIn, tokensOut: sent.tokensOut, errors: 0 });
  }, 20_000);
});
