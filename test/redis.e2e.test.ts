/**
 * Three replicas sharing one real redis-server, in front of one simulator, all on loopback: a key that dies
 * through one replica is skipped by the others, a client limit holds across replicas, and Redis going away
 * (SIGKILL) and coming back (empty, same port) fails no client request and ends with every replica agreeing.
 */
import { createClient } from 'redis';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../src/simulator/index.js';
import { redisUp } from '../src/store/redis-connection.js';
import { CLIENT_KEY, fingerprintKey, UPSTREAM_KEYS, startTestGateway, until, type GatewayUnderTest } from './harness.js';
import { startRedis, type RedisServer } from './redis-helper.js';
import { describeNeeding, REDIS } from './requirements.js';

const describeWithRedis = describeNeeding(REDIS);

const TEAM_KEY = 'sk-team-limited-0123456789';
const OPS_KEY = 'sk-ops-generous-0123456789';
const TEAM_RPM = 5;

type Replica = GatewayUnderTest;

let redis: RedisServer;
let sim: Simulator;
const replicas: Replica[] = [];

function startReplica(): Promise<Replica> {
  const clientKeys = [
    { name: 'team', key: TEAM_KEY, rpm: TEAM_RPM },
    { name: 'ops', key: OPS_KEY, rpm: 10_000 },
  ];
  return startTestGateway(sim.url, { env: { SHUTDOWN_GRACE_MS: '1000', REDIS_URL: redis.url, CLIENT_KEYS: JSON.stringify(clientKeys) } });
}

async function chat(url: string, key = CLIENT_KEY): Promise<{ status: number; body: any; retryAfter: string | undefined }> {
  const res = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'say hi' }] }),
  });
  const body: unknown = await res.body.json();
  const ra = res.headers['retry-after'];
  return { status: res.statusCode, body, retryAfter: Array.isArray(ra) ? ra[0] : ra };
}

/** Polls a condition (never a timing assertion: the bound only keeps a broken build from hanging). */

async function metricsOf(r: Replica): Promise<string> {
  const res = await request(`${r.url}/metrics`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } });
  return res.body.text();
}

function stateOn(r: Replica, key: string): string | undefined {
  return r.gateway.pool.get(fingerprintKey(key))?.state;
}

function callsTo(key: string): number {
  const s = sim.stats().byKey[key];
  return s === undefined ? 0 : s.sessions + s.queries;
}

beforeAll(async () => {
  redis = await startRedis();
  sim = await startSimulator({ keys: UPSTREAM_KEYS });
  for (let i = 0; i < 3; i++) replicas.push(await startReplica());
}, 20_000);

afterAll(async () => {
  for (const r of replicas) {
    await r.close();
  }
  await sim?.close();
  await redis?.stop();
});

describeWithRedis('three replicas, one redis', () => {
  it('a key that fails through replica A is not tried by B and C', async () => {
    const [a, b, c] = replicas as [Replica, Replica, Replica];
    const bad = UPSTREAM_KEYS[0] as string;
    sim.setKeyBehavior(bad, { kind: 'http', status: 401 });
    for (let i = 0; i < 6 && (sim.stats().byKey[bad]?.failures ?? 0) === 0; i++) {
      expect((await chat(a.url)).status).toBe(200);
    }
    expect(sim.stats().byKey[bad]?.failures).toBe(1);
    expect(stateOn(a, bad)).toBe('dead');
    const ms = await until('B and C see the key dead', () => stateOn(b, bad) === 'dead' && stateOn(c, bad) === 'dead');
    console.log(`dead key seen by the other replicas after ~${ms} ms`);

    const before = callsTo(bad);
    const results = await Promise.all([b, c, b, c, b, c, b, c, b, c].map((r) => chat(r.url)));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(callsTo(bad)).toBe(before);
    expect(sim.stats().byKey[bad]?.failures).toBe(1);
  });

  it(`a cluster-wide limit of ${TEAM_RPM} requests a minute admits exactly ${TEAM_RPM} across the replicas`, async () => {
    const targets = Array.from({ length: 12 }, (_, i) => replicas[i % 3] as Replica);
    const results = await Promise.all(targets.map((r) => chat(r.url, TEAM_KEY)));
    const ok = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    expect(ok).toHaveLength(TEAM_RPM);
    expect(limited).toHaveLength(12 - TEAM_RPM);
    for (const r of limited) {
      expect(r.body.error.type).toBe('rate_limit_error');
      expect(r.body.error.code).toBe('rate_limit_exceeded');
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(r.retryAfter)).toBeLessThanOrEqual(60);
    }
    // the unnamed PRIVATE_KEY has no limit
    expect((await chat((replicas[0] as Replica).url)).status).toBe(200);
  });

  it('redis killed mid-run and restarted: no failed client request, and the replicas converge', async () => {
    const [a, b, c] = replicas as [Replica, Replica, Replica];
    const statuses: number[] = [];
    let stop = false;
    // held while the one-shot 401 below is meant for A: traffic through B or C could otherwise take it
    let hold = false;
    let trafficBusy = false;
    // steady traffic through all three replicas, with and without a limited key, for the whole outage
    const traffic = (async () => {
      for (let i = 0; !stop; i++) {
        while (hold) await new Promise((r) => setTimeout(r, 5));
        const r = replicas[i % 3] as Replica;
        trafficBusy = true;
        const res = await chat(r.url, i % 2 === 0 ? CLIENT_KEY : OPS_KEY);
        trafficBusy = false;
        statuses.push(res.status);
      }
    })();

    await until('some traffic before the outage', () => statuses.length >= 6);
    await redis.kill();
    await until('every replica notices', () => redisUp() === 0);
    const atOutage = statuses.length;
    expect(await metricsOf(a)).toMatch(/^gateway_redis_up 0$/m);

    // during the outage a key dies through A only (the simulator fails it once, then it would work again)
    const flaky = UPSTREAM_KEYS[1] as string;
    hold = true;
    await until('the traffic loop is paused', () => !trafficBusy);
    sim.setKeyBehavior(flaky, { kind: 'http', status: 401, times: 1 });
    for (let i = 0; i < 6 && (sim.stats().byKey[flaky]?.failures ?? 0) === 0; i++) statuses.push((await chat(a.url)).status);
    hold = false;
    expect(sim.stats().byKey[flaky]?.failures).toBe(1);
    expect(stateOn(a, flaky)).toBe('dead');
    expect(stateOn(b, flaky)).not.toBe('dead');
    await until('traffic during the outage', () => statuses.length >= atOutage + 12);

    await redis.restart();
    await until('every replica reconnects', () => redisUp() === 1);
    expect(await metricsOf(a)).toMatch(/^gateway_redis_up 1$/m);
    await until('B and C learn what A saw during the outage', () => stateOn(b, flaky) === 'dead' && stateOn(c, flaky) === 'dead');
    const afterBack = statuses.length;
    await until('traffic after the restart', () => statuses.length >= afterBack + 9);
    stop = true;
    await traffic;

    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(statuses.length).toBeGreaterThanOrEqual(afterBack + 9);
    for (const r of replicas) {
      expect(r.logs()).toContain('redis unavailable');
      expect(r.logs()).toContain('redis is back');
      expect(stateOn(r, UPSTREAM_KEYS[0] as string)).toBe('dead');
    }

    // the restarted (empty) redis holds the agreed state again
    const direct = createClient({ url: redis.url });
    direct.on('error', () => {});
    await direct.connect();
    try {
      const raw = await direct.hGet('odgw:keys', fingerprintKey(flaky));
      expect(raw).not.toBeNull();
      expect(JSON.parse(String(raw)).state.status).toBe('dead');
    } finally {
      await direct.close();
    }
  }, 20_000);
});
