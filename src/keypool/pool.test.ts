import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { rejection } from '../core/test-helpers.js';
import { fingerprintKey } from '../ondemand/key-fingerprint.js';
import { KeyPool, type KeyPoolChange, type KeyPoolOptions } from './pool.js';
import { DEFAULT_POOL_SETTINGS, type PoolSettings } from './settings.js';
import { failed, ok, testClock, timedOut } from './test-helpers.js';
import type { CallOutcome, KeyLease } from './types.js';

const T0 = Date.UTC(2025, 0, 1);
const KEYS = ['sk-alpha-000000', 'sk-bravo-111111', 'sk-charlie-2222'];
const fp = (key: string) => fingerprintKey(key);

function makePool(keys: readonly string[] = KEYS, opts: Partial<KeyPoolOptions> & { tune?: Partial<PoolSettings> } = {}) {
  const { tune, ...rest } = opts;
  return new KeyPool({ envKeys: keys, clock: testClock, settings: { ...DEFAULT_POOL_SETTINGS, ...tune }, onError: () => {}, ...rest });
}

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('selection', () => {
  it('spreads sequential calls evenly over keys', async () => {
    const pool = makePool();
    const counts = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const lease = await pool.acquire();
      counts.set(lease.fingerprint, (counts.get(lease.fingerprint) ?? 0) + 1);
      lease.release(ok());
    }
    expect([...counts.values()]).toEqual([10, 10, 10]);
  });

  it('prefers the least busy key', async () => {
    const pool = makePool();
    const a = await pool.acquire();
    const b = await pool.acquire();
    const c = await pool.acquire();
    expect(new Set([a.fingerprint, b.fingerprint, c.fingerprint]).size).toBe(3);
    b.release(ok());
    expect((await pool.acquire()).fingerprint).toBe(b.fingerprint);
  });

  it('honours exclude', async () => {
    const pool = makePool();
    const lease = await pool.acquire({ exclude: new Set([fp(KEYS[0]!), fp(KEYS[1]!)]) });
    expect(lease.fingerprint).toBe(fp(KEYS[2]!));
    const err = await rejection(pool.acquire({ exclude: new Set(KEYS.map(fp)) }));
    expect(err.status).toBe(503);
    expect(err.message).toContain('3 already tried for this request');
  });

  it('honours a preferred key while it can serve (a continued session lives in its account), and only then', async () => {
    const pool = makePool();
    const busy = await pool.acquire({ prefer: fp(KEYS[1]!) });
    expect(busy.fingerprint).toBe(fp(KEYS[1]!));
    // preferred even when busier than the others
    expect((await pool.acquire({ prefer: fp(KEYS[1]!) })).fingerprint).toBe(fp(KEYS[1]!));
    // not when excluded, unknown, or cooling
    expect((await pool.acquire({ prefer: fp(KEYS[1]!), exclude: new Set([fp(KEYS[1]!)]) })).fingerprint).not.toBe(fp(KEYS[1]!));
    expect((await pool.acquire({ prefer: 'k:unknown' })).fingerprint).toMatch(/^k:/);
    const cooled = await pool.acquire({ prefer: fp(KEYS[2]!) });
    cooled.release(failed(429));
    expect((await pool.acquire({ prefer: fp(KEYS[2]!) })).fingerprint).not.toBe(fp(KEYS[2]!));
  });

  it('honours weights', async () => {
    const pool = makePool([]);
    pool.add('sk-heavy', { weight: 3, source: 'env' });
    pool.add('sk-light', { weight: 1, source: 'env' });
    const counts = new Map<string, number>();
    for (let i = 0; i < 400; i++) {
      const lease = await pool.acquire();
      counts.set(lease.key, (counts.get(lease.key) ?? 0) + 1);
      lease.release(ok());
    }
    expect(counts.get('sk-heavy')).toBe(300);
    expect(counts.get('sk-light')).toBe(100);
  });

  it('gives a key on probation a small share until it has proved itself', async () => {
    const pool = makePool(KEYS.slice(0, 2));
    const probation = fp(KEYS[1]!);
    pool.disable(probation);
    expect(pool.enable(probation)?.state).toBe('probation');
    let picked = 0;
    for (let i = 0; i < 100; i++) {
      const lease = await pool.acquire();
      if (lease.fingerprint === probation) picked++;
      lease.release(failed(400)); // neutral: keeps the key on probation
    }
    expect(picked).toBe(20); // weight 1 × share 0.25 against 1
    for (let i = 0; i < 30 && pool.get(probation)?.state === 'probation'; i++) (await pool.acquire()).release(ok());
    expect(pool.get(probation)?.state).toBe('active');
  });

  it('serves 10k keys without trouble (cost is O(1) in steady round-robin; no timing asserted)', async () => {
    const keys = Array.from({ length: 10_000 }, (_, i) => `sk-bulk-${i}`);
    const pool = makePool(keys);
    const seen = new Set<string>();
    const held: KeyLease[] = [];
    for (let i = 0; i < 3_000; i++) {
      const lease = await pool.acquire();
      seen.add(lease.fingerprint);
      if (i % 3 === 0) held.push(lease);
      else lease.release(ok());
    }
    expect(seen.size).toBe(3_000);
    for (const l of held) l.release(ok());
    expect(pool.usableCount()).toBe(10_000);
  });
});

describe('leases', () => {
  it('release counts once', async () => {
    const pool = makePool(KEYS.slice(0, 1));
    const lease = await pool.acquire();
    expect(pool.list()[0]?.inFlight).toBe(1);
    lease.release(failed(502));
    lease.release(failed(502));
    lease.release(ok());
    expect(pool.list()[0]).toMatchObject({ inFlight: 0, failures: 1, successes: 0 });
  });

  it('never shows the raw key when logged or serialised', async () => {
    const pool = makePool();
    const lease = await pool.acquire();
    expect(lease.key).toMatch(/^sk-/);
    expect(JSON.stringify(lease)).not.toContain('sk-');
    expect(inspect(lease)).not.toContain('sk-');
    expect(JSON.stringify(pool.list())).not.toContain('sk-');
  });

  it('a lease on a removed key completes without touching the pool', async () => {
    const pool = makePool(KEYS.slice(0, 1));
    const lease = await pool.acquire();
    expect(pool.remove(lease.fingerprint)).toBe(true);
    expect(() => lease.release(failed(401))).not.toThrow();
    expect(pool.list()).toEqual([]);
  });
});

describe('punishment', () => {
  it('a 401 kills the key, a 429 cools it, a client error does nothing', async () => {
    const pool = makePool();
    const leases: KeyLease[] = [await pool.acquire(), await pool.acquire(), await pool.acquire()];
    const [dead, cooling, fine] = leases as [KeyLease, KeyLease, KeyLease];
    dead.release(failed(401, { errorCode: 'unauthenticated' }));
    cooling.release(failed(429, { errorCode: 'rate_limit_exceeded' }));
    fine.release(failed(400, { errorCode: 'invalid_request' }));
    const byFp = new Map(pool.list().map((k) => [k.fingerprint, k]));
    expect(byFp.get(dead.fingerprint)).toMatchObject({ state: 'dead', reason: '401 unauthenticated' });
    expect(byFp.get(cooling.fingerprint)).toMatchObject({ state: 'cooling', reason: '429 rate_limit_exceeded' });
    expect(byFp.get(fine.fingerprint)).toMatchObject({ state: 'active', failures: 0 });
    expect(pool.usableCount()).toBe(1);
  });

  it('model errors never cool a key', async () => {
    const pool = makePool(KEYS.slice(0, 1));
    for (let i = 0; i < 6; i++) (await pool.acquire()).release(failed(500, { errorCode: 'model_error' }));
    expect(pool.list()[0]).toMatchObject({ state: 'active', failures: 6, lastError: '500 model_error' });
  });

  it('a session the upstream forgot (404 on the query route) never cools a key', async () => {
    const pool = makePool(KEYS.slice(0, 1));
    for (let i = 0; i < 6; i++) (await pool.acquire()).release(failed(404, { phase: 'query' }));
    expect(pool.list()[0]).toMatchObject({ state: 'active', failures: 6, lastError: '404' });
    // the same count of a transient failure that is the key's does
    for (let i = 0; i < 6 && pool.list()[0]!.state === 'active'; i++) (await pool.acquire()).release(failed(502));
    expect(pool.list()[0]!.state).not.toBe('active');
  });

  it('repeated timeouts degrade a key briefly', async () => {
    const pool = makePool(KEYS.slice(0, 1));
    for (let i = 0; i < 3; i++) (await pool.acquire()).release(timedOut());
    expect(pool.list()[0]).toMatchObject({ state: 'degraded', until: new Date(T0 + 15_000).toISOString() });
  });
});

describe('when every key is out', () => {
  it('a degraded key still serves when no other key can (and keeps being judged); a dead one never', async () => {
    const pool = makePool(KEYS.slice(0, 2));
    const [a, b] = pool.list().map((k) => k.fingerprint);
    for (let i = 0; i < 3; i++) (await pool.acquire({ exclude: new Set([b!]) })).release(timedOut());
    expect(pool.get(a!)?.state).toBe('degraded');
    // another usable key goes first
    expect((await pool.acquire()).fingerprint).toBe(b);
    // with that one tried, the degraded key is the last resort instead of a 503
    const lease = await pool.acquire({ exclude: new Set([b!]) });
    expect(lease.fingerprint).toBe(a);
    lease.release({ ok: true, latencyMs: 5 });
    pool.disable(b!);
    (await pool.acquire()).release(failed(401));
    await expect(pool.acquire()).rejects.toMatchObject({ status: 503 });
  });

  it('answers 429 when all keys are only rate-limited', async () => {
    const pool = makePool(KEYS.slice(0, 2));
    const a = await pool.acquire();
    const b = await pool.acquire();
    a.release(failed(429));
    b.release(failed(429));
    const err = await rejection(pool.acquire());
    expect(err).toMatchObject({ status: 429, type: 'rate_limit_error', code: 'all_keys_rate_limited', retryAfterSec: 60 });
    expect(err.message).toBe(`all 2 upstream keys are unavailable: 2 cooling until ${new Date(T0 + 60_000).toISOString()} (429)`);
  });

  it('answers 503 with per-state counts otherwise, never naming a raw key', async () => {
    const pool = makePool();
    const leases = [await pool.acquire(), await pool.acquire(), await pool.acquire()];
    leases[0]!.release(failed(401, { errorCode: 'unauthenticated' }));
    leases[1]!.release(failed(401, { errorCode: 'unauthenticated' }));
    leases[2]!.release(failed(429, { errorCode: 'rate_limit_exceeded', retryAfterSec: 30 }));
    const err = await rejection(pool.acquire());
    expect(err).toMatchObject({ status: 503, type: 'api_error', code: 'no_upstream_keys_available', retryAfterSec: 32 });
    expect(err.message).toBe(`all 3 upstream keys are unavailable: 2 dead (401 unauthenticated), 1 cooling until ${new Date(T0 + 31_500).toISOString()} (429 rate_limit_exceeded)`);
    expect(err.message).not.toContain('sk-');
  });

  it('answers 503 without retry when every key is disabled or none exist', async () => {
    const pool = makePool(KEYS.slice(0, 1));
    pool.disable(fp(KEYS[0]!));
    expect(await rejection(pool.acquire())).toMatchObject({ status: 503, shouldRetry: false, retryAfterSec: undefined });
    expect(await rejection(makePool([]).acquire())).toMatchObject({ status: 503, message: 'no upstream keys are configured' });
  });

  it('waits for a key due back within ALL_KEYS_OUT_WAIT_MS, then serves', async () => {
    const pool = makePool(KEYS.slice(0, 1), { tune: { allKeysOutWaitMs: 2_000 } });
    (await pool.acquire()).release(failed(429, { retryAfterSec: 1 }));
    let served: KeyLease | undefined;
    const pending = pool.acquire().then((l) => (served = l));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(served).toBeUndefined();
    await vi.advanceTimersByTimeAsync(60);
    await pending;
    expect(served?.fingerprint).toBe(fp(KEYS[0]!));
    expect(pool.get(fp(KEYS[0]!))?.state).toBe('active');
  });

  it('does not wait past the configured wait', async () => {
    const pool = makePool(KEYS.slice(0, 1), { tune: { allKeysOutWaitMs: 2_000 } });
    (await pool.acquire()).release(failed(429, { retryAfterSec: 5 }));
    expect((await rejection(pool.acquire())).retryAfterSec).toBe(6);
  });

  it('stops waiting when the caller aborts', async () => {
    const pool = makePool(KEYS.slice(0, 1), { tune: { allKeysOutWaitMs: 2_000 } });
    (await pool.acquire()).release(failed(429, { retryAfterSec: 1 }));
    const ctl = new AbortController();
    const pending = pool.acquire({ signal: ctl.signal });
    const settled = pending.then(
      () => 'served',
      (e: unknown) => e,
    );
    await vi.advanceTimersByTimeAsync(200);
    ctl.abort(new Error('client gone'));
    expect(await settled).toMatchObject({ message: 'client gone' });
  });
});

/** One call on exactly this key of the pool's keys, ending with `outcome`. */
async function callOn(pool: KeyPool, keys: readonly string[], key: string, outcome: CallOutcome): Promise<void> {
  const lease = await pool.acquire({ exclude: new Set(keys.map(fp).filter((k) => k !== key)) });
  expect(lease.fingerprint).toBe(key);
  lease.release(outcome);
}

const unavailable = () => failed(503, { errorCode: 'resource_unavailable' });

/** A pool of `n` keys named after the test, and their fingerprints. */
function poolOf(name: string, n: number) {
  const keys = Array.from({ length: n }, (_, i) => `sk-${name}-${i}-000000`);
  return { keys, fps: keys.map(fp), pool: makePool(keys) };
}

describe('upstream circuit', () => {
  it('an IP-wide 429 opens the circuit instead of cooling every key; a trial closes it', async () => {
    const pool = makePool();
    const changes: KeyPoolChange[] = [];
    pool.onChange((c) => changes.push(c));
    const leases = [await pool.acquire(), await pool.acquire(), await pool.acquire()];
    for (const l of leases) l.release(failed(429));
    expect(pool.list().map((k) => k.state)).toEqual(['active', 'active', 'active']);
    expect(pool.circuitInfo().phase).toBe('open');
    const err = await rejection(pool.acquire());
    expect(err).toMatchObject({ status: 429, code: 'upstream_rate_limited', retryAfterSec: 5 });

    await vi.advanceTimersByTimeAsync(5_000);
    const trial = await pool.acquire();
    expect(await rejection(pool.acquire())).toMatchObject({ status: 429, retryAfterSec: 1 });
    trial.release(ok());
    expect(pool.circuitInfo().phase).toBe('closed');
    (await pool.acquire()).release(ok());
    expect(changes.filter((c) => c.type === 'circuit').map((c) => (c.type === 'circuit' ? c.circuit.phase : ''))).toEqual(['open', 'half_open', 'closed']);
  });

  it('an open circuit steers: the keys still answering serve, only what they cannot take is refused', async () => {
    const { keys, fps, pool } = poolOf('steer', 10);
    const [good1, good2, ...bad] = fps as [string, string, ...string[]];
    for (let i = 0; i < 20; i++) for (const key of [good1, good2]) await callOn(pool, keys, key, ok());
    for (const key of bad) await callOn(pool, keys, key, unavailable());
    expect(pool.circuitInfo().phase).toBe('open');
    const served = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const lease = await pool.acquire();
      served.add(lease.fingerprint);
      lease.release(ok());
    }
    expect([...served].sort()).toEqual([good1, good2].sort());
    const refused = await rejection(pool.acquire({ exclude: new Set([good1, good2]) }));
    expect(refused).toMatchObject({ status: 503, code: 'upstream_unavailable', retryAfterSec: 5 });
    expect(refused.message).toContain('the 2 still answering could not take this request');

    // the hold ends: one trial goes to a held key, while the good keys go on serving the rest
    await vi.advanceTimersByTimeAsync(5_000);
    const trial = await pool.acquire();
    expect(bad).toContain(trial.fingerprint);
    expect(pool.circuitInfo().phase).toBe('half_open');
    const meanwhile = await pool.acquire();
    expect([good1, good2]).toContain(meanwhile.fingerprint);
    meanwhile.release(ok());
    trial.release(ok());
    expect(pool.circuitInfo().phase).toBe('closed');
  });

  it('the trial goes to a serving key when no held key can be called, so the circuit can close', async () => {
    const { keys, fps, pool } = poolOf('gone', 5);
    const [good, ...bad] = fps as [string, ...string[]];
    for (const key of [good, ...bad]) await callOn(pool, keys, key, key === good ? ok() : unavailable());
    expect(pool.circuitInfo().phase).toBe('open');
    for (const key of bad) pool.remove(key);
    await vi.advanceTimersByTimeAsync(5_000);
    const trial = await pool.acquire();
    expect(trial.fingerprint).toBe(good);
    expect(pool.circuitInfo().phase).toBe('half_open');
    trial.release(ok());
    expect(pool.circuitInfo().phase).toBe('closed');
  });

  it('while the circuit holds, a request waits for a serving key due back from its own cooldown', async () => {
    const { keys, fps, pool } = poolOf('wait', 5);
    const [good, ...bad] = fps as [string, ...string[]];
    for (let i = 0; i < 10; i++) await callOn(pool, keys, good, ok());
    await callOn(pool, keys, good, failed(429, { retryAfterSec: 1 }));
    expect(pool.get(good)?.state).toBe('cooling');
    for (const key of bad) await callOn(pool, keys, key, unavailable());
    expect(pool.circuitInfo().phase).toBe('open');
    const pending = pool.acquire();
    await vi.advanceTimersByTimeAsync(1_200);
    expect((await pending).fingerprint).toBe(good);
  });

  it('an outage answers 503 while the circuit holds', async () => {
    const pool = makePool();
    const leases = [await pool.acquire(), await pool.acquire(), await pool.acquire()];
    for (const l of leases) l.release(failed(503, { errorCode: 'resource_unavailable' }));
    expect(await rejection(pool.acquire())).toMatchObject({ status: 503, code: 'upstream_unavailable' });
  });
});

describe('operator control', () => {
  it('adds (deduplicated), lists, disables, enables and removes', () => {
    const pool = makePool([]);
    const changes: KeyPoolChange['type'][] = [];
    pool.onChange((c) => changes.push(c.type));
    const first = pool.add('sk-new-key', { weight: 2, label: 'team a' });
    expect(first).toMatchObject({ added: true, key: { fingerprint: fp('sk-new-key'), weight: 2, label: 'team a', source: 'admin', state: 'active' } });
    expect(pool.add(' sk-new-key ').added).toBe(false);
    expect(pool.disable(fp('sk-new-key'))).toMatchObject({ state: 'disabled', reason: 'disabled by operator' });
    expect(pool.usableCount()).toBe(0);
    expect(pool.enable(fp('sk-new-key'))?.state).toBe('probation');
    expect(pool.remove(fp('sk-new-key'))).toBe(true);
    expect(pool.remove(fp('sk-new-key'))).toBe(false);
    expect(pool.enable('k:00000000')).toBeUndefined();
    expect(changes).toEqual(['added', 'state', 'state', 'removed']);
  });

  it('replaceSource keeps survivors with their state, adds and removes', async () => {
    const pool = makePool(['sk-env'], { fileKeys: ['sk-file-1', 'sk-file-2'] });
    const l = await pool.acquire({ exclude: new Set([fp('sk-env'), fp('sk-file-2')]) });
    l.release(failed(401));
    pool.replaceSource('file', ['sk-file-1', 'sk-file-3', 'sk-env']);
    const list = pool.list();
    expect(list.map((k) => [k.fingerprint, k.source, k.state])).toEqual([
      [fp('sk-env'), 'env', 'active'],
      [fp('sk-file-1'), 'file', 'dead'],
      [fp('sk-file-3'), 'file', 'active'],
    ]);
  });

  it('test() runs the probe now and reports the new state', async () => {
    const probe = vi.fn(async (key: string) => (key === 'sk-bravo-111111' ? ok(33) : failed(401, { errorCode: 'unauthenticated' })));
    const pool = makePool(KEYS.slice(0, 2), { probe });
    const bad = await pool.test(fp(KEYS[0]!));
    expect(bad).toMatchObject({ outcome: { ok: false, class: 'auth', reason: '401 unauthenticated' }, key: { state: 'dead' } });
    const good = await pool.test(fp(KEYS[1]!));
    expect(good).toMatchObject({ outcome: { ok: true, latencyMs: 33 }, key: { state: 'active', lastLatencyMs: 33 } });
    expect(await pool.test('k:00000000')).toBeUndefined();
  });

  it('a probe that throws is a failure with the key scrubbed from its message', async () => {
    const pool = makePool(KEYS.slice(0, 1), {
      probe: async (key) => {
        throw new Error(`socket hang up for ${key}`);
      },
    });
    const result = await pool.test(fp(KEYS[0]!));
    expect(result?.outcome).toMatchObject({ ok: false, class: 'transient', message: 'probe failed: socket hang up for [key]' });
  });
});
