/**
 * Transient failures judged on the whole cluster: three replicas on one real redis-server in front of one
 * simulator. A key answering 5xx once through each replica goes degraded on all three, as it would on one replica
 * that had seen the three failures; two failures across the cluster are not enough (as on one replica).
 */
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../src/simulator/index.js';
import type { RedisOutcomes } from '../src/store/redis-outcomes.js';
import { CLIENT_KEY, fingerprintKey, UPSTREAM_KEYS, startTestGateway, until, type GatewayUnderTest } from './harness.js';
import { startRedis, type RedisServer } from './redis-helper.js';
import { describeNeeding, REDIS } from './requirements.js';

const describeWithRedis = describeNeeding(REDIS);

type Replica = GatewayUnderTest;

let redis: RedisServer;
let sim: Simulator;
const replicas: Replica[] = [];
const BAD = UPSTREAM_KEYS[0] as string;
const FP = fingerprintKey(BAD);

function startReplica(): Promise<Replica> {
  return startTestGateway(sim.url, { env: { LOG_LEVEL: 'warn', SHUTDOWN_GRACE_MS: '1000', REDIS_URL: redis.url } });
}

async function chat(url: string): Promise<number> {
  const res = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'say hi' }] }),
  });
  await res.body.dump();
  return res.statusCode;
}

const stateOn = (r: Replica) => r.gateway.pool.get(FP)?.state;
const failuresOn = (r: Replica) => r.gateway.pool.get(FP)?.failures ?? 0;
const view = (r: Replica) => r.gateway.pool.peers as RedisOutcomes;
const peerFailuresOn = (r: Replica) => r.gateway.pool.peers?.counts(FP, -Infinity)?.failed ?? 0;

/** Requests through one replica until the bad key has failed there once more (the engine fails over: 200). */
async function failOnceThrough(r: Replica): Promise<void> {
  const before = failuresOn(r);
  for (let i = 0; i < 10 && failuresOn(r) === before; i++) expect(await chat(r.url)).toBe(200);
  expect(failuresOn(r)).toBe(before + 1);
}

/** Two full background rounds on every replica after now: each has written its outcomes and read the others'. */
async function settled(): Promise<void> {
  const marks = replicas.map((r) => view(r).refreshes);
  await until('two refresh rounds everywhere', () => replicas.every((r, i) => view(r).refreshes >= (marks[i] as number) + 2));
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

describeWithRedis('transient failures counted across replicas', () => {
  it('a key failing with 5xx once on each of A, B and C goes degraded on all of them', async () => {
    const [a, b, c] = replicas as [Replica, Replica, Replica];
    sim.setKeyBehavior(BAD, { kind: 'http', status: 502 });

    await failOnceThrough(a);
    await failOnceThrough(b);
    await settled();
    // two failures in the cluster: below the window's minimum of three, on every replica as on one
    expect(peerFailuresOn(a)).toBe(1);
    expect(peerFailuresOn(b)).toBe(1);
    expect(peerFailuresOn(c)).toBe(2);
    for (const r of replicas) expect(stateOn(r)).toBe('active');

    await failOnceThrough(c);
    expect(stateOn(c)).toBe('degraded'); // its own one plus the two it knew of
    await until('A and B see it degraded', () => stateOn(a) === 'degraded' && stateOn(b) === 'degraded');
    expect(sim.stats().byKey[BAD]?.failures).toBe(3);

    // while degraded nobody calls it
    const calls = sim.stats().byKey[BAD]?.failures ?? 0;
    for (const r of [a, b, c, a, b, c]) expect(await chat(r.url)).toBe(200);
    expect(sim.stats().byKey[BAD]?.failures).toBe(calls);
  });
});
