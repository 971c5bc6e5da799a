import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fingerprintKey } from '../ondemand/key-fingerprint.js';
import { type HealthChecker, startHealthChecks } from './health.js';
import { KeyPool } from './pool.js';
import { failed, ok, testClock } from './test-helpers.js';
import type { CallOutcome, ProbeFn } from './types.js';

const T0 = Date.UTC(2025, 0, 1);
const fp = (key: string) => fingerprintKey(key);

/** A probe whose answers the test decides, key by key; records every call. */
function scriptedProbe(answer: (key: string) => CallOutcome | Promise<CallOutcome> = () => ok()) {
  const calls: string[] = [];
  const probe = vi.fn<ProbeFn>(async (key) => {
    calls.push(key);
    return answer(key);
  });
  return { probe, calls };
}

function setup(keys: string[], probe: ProbeFn) {
  const pool = new KeyPool({ envKeys: keys, probe, clock: testClock, onError: () => {} });
  const checkers: HealthChecker[] = [];
  const start = (intervalSec: number, concurrency = 4, checkAtStart = false, probeTimeoutMs = 30_000) => {
    const hc = startHealthChecks({ pool, intervalSec, concurrency, checkAtStart, probeTimeoutMs, clock: testClock });
    checkers.push(hc);
    return hc;
  };
  const kill = async (key: string, status = 401) => {
    const lease = await pool.acquire({ exclude: new Set(keys.filter((k) => k !== key).map(fp)) });
    lease.release(failed(status, status === 401 ? { errorCode: 'unauthenticated' } : {}));
  };
  return { pool, start, kill, stopAll: () => Promise.all(checkers.map((c) => c.stop())) };
}

let cleanup: (() => Promise<unknown>) | undefined;
beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
  vi.useRealTimers();
});

describe('dead keys', () => {
  it('are probed when their retry time comes, and a success puts them on probation', async () => {
    const { probe, calls } = scriptedProbe();
    const { pool, start, kill, stopAll } = setup(['sk-a', 'sk-b'], probe);
    cleanup = stopAll;
    await kill('sk-a');
    start(0);
    await vi.advanceTimersByTimeAsync(599_000);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toEqual(['sk-a']);
    expect(pool.get(fp('sk-a'))?.state).toBe('probation');
  });

  it('a dead key that still fails is tried again one interval later; a probe 429 sooner and never as death', async () => {
    const answers: CallOutcome[] = [failed(401), failed(429)];
    const { probe, calls } = scriptedProbe(() => answers.shift() ?? ok());
    const { pool, start, kill, stopAll } = setup(['sk-a'], probe);
    cleanup = stopAll;
    await kill('sk-a');
    start(0);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(calls).toHaveLength(1);
    expect(pool.get(fp('sk-a'))).toMatchObject({ state: 'dead', until: new Date(T0 + 1_200_000).toISOString() });
    await vi.advanceTimersByTimeAsync(600_000);
    expect(calls).toHaveLength(2);
    expect(pool.get(fp('sk-a'))).toMatchObject({ state: 'dead', lastError: '429', until: new Date(T0 + 1_260_000).toISOString() });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(3);
    expect(pool.get(fp('sk-a'))?.state).toBe('probation');
  });

  it('a probe that hit an outage is retried after the short cooldown, not at the next safety sweep', async () => {
    const answers: CallOutcome[] = [failed(503)];
    const { probe, calls } = scriptedProbe(() => answers.shift() ?? ok());
    const { pool, start, kill, stopAll } = setup(['sk-a'], probe);
    cleanup = stopAll;
    await kill('sk-a');
    start(0);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(calls).toHaveLength(1);
    expect(pool.get(fp('sk-a'))).toMatchObject({ state: 'dead', until: new Date(T0 + 615_000).toISOString() });
    await vi.advanceTimersByTimeAsync(14_999);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(2);
    expect(pool.get(fp('sk-a'))?.state).toBe('probation');
  });

  it('a probe that hangs is aborted after its timeout and counts as a timeout', async () => {
    const { probe, calls } = scriptedProbe(
      () => new Promise<CallOutcome>(() => {}), // never answers; only the abort ends it
    );
    probe.mockImplementation(async (key, signal) => {
      calls.push(key);
      return new Promise<CallOutcome>((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    });
    const { pool, start, kill, stopAll } = setup(['sk-a'], probe);
    cleanup = stopAll;
    await kill('sk-a');
    start(0, 4, false, 5_000);
    await vi.advanceTimersByTimeAsync(605_000);
    expect(calls).toEqual(['sk-a']);
    expect(pool.get(fp('sk-a'))).toMatchObject({
      state: 'dead',
      lastError: 'first_byte_timeout',
      until: new Date(T0 + 605_000 + 15_000).toISOString(),
    });
  });
});

describe('periodic checks', () => {
  it('probe every idle live key each interval, never more than the concurrency at once', async () => {
    const keys = Array.from({ length: 10 }, (_, i) => `sk-${i}`);
    const resolvers: (() => void)[] = [];
    let running = 0;
    let peak = 0;
    const { probe, calls } = scriptedProbe(
      () =>
        new Promise<CallOutcome>((resolve) => {
          running++;
          peak = Math.max(peak, running);
          resolvers.push(() => {
            running--;
            resolve(ok(5));
          });
        }),
    );
    const { start, stopAll } = setup(keys, probe);
    cleanup = stopAll;
    start(300, 3, true);
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toHaveLength(3);
    while (resolvers.length > 0) {
      resolvers.shift()?.();
      await vi.advanceTimersByTimeAsync(0);
    }
    expect(calls).toHaveLength(10);
    expect(peak).toBe(3);
    await vi.advanceTimersByTimeAsync(300_000);
    while (resolvers.length > 0) {
      resolvers.shift()?.();
      await vi.advanceTimersByTimeAsync(0);
    }
    expect(calls).toHaveLength(20);
  });

  it('skip keys that are disabled, cooling, dead or proved by real traffic', async () => {
    const { probe, calls } = scriptedProbe();
    const keys = ['sk-busy', 'sk-off', 'sk-cool', 'sk-dead', 'sk-idle'];
    const { pool, start, kill, stopAll } = setup(keys, probe);
    cleanup = stopAll;
    (await pool.acquire({ exclude: new Set(keys.filter((k) => k !== 'sk-busy').map(fp)) })).release(ok());
    pool.disable(fp('sk-off'));
    await kill('sk-cool', 429);
    await kill('sk-dead', 401);
    start(300, 4, true);
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toEqual(['sk-idle']);
  });

  it('a probe 429 on a live key cools it, it does not kill it', async () => {
    const { probe } = scriptedProbe(() => failed(429));
    const { pool, start, stopAll } = setup(['sk-a'], probe);
    cleanup = stopAll;
    start(300, 1, true);
    await vi.advanceTimersByTimeAsync(0);
    expect(pool.get(fp('sk-a'))?.state).toBe('cooling');
  });

  it('interval 0 turns the periodic check off', async () => {
    const { probe, calls } = scriptedProbe();
    const { start, stopAll } = setup(['sk-a'], probe);
    cleanup = stopAll;
    start(0, 1, false);
    await vi.advanceTimersByTimeAsync(24 * 3600_000);
    expect(calls).toEqual([]);
  });
});

describe('stop', () => {
  it('clears the timers and aborts running probes', async () => {
    let aborted = false;
    const { probe, calls } = scriptedProbe();
    probe.mockImplementation(async (key, signal) => {
      calls.push(key);
      return new Promise<CallOutcome>((_resolve, reject) =>
        signal.addEventListener('abort', () => {
          aborted = true;
          reject(signal.reason);
        }),
      );
    });
    const { pool, start } = setup(['sk-a', 'sk-b'], probe);
    const hc = start(60, 1, true);
    await vi.advanceTimersByTimeAsync(0);
    expect(hc.activeProbes()).toBe(1);
    await hc.stop();
    expect(aborted).toBe(true);
    expect(hc.activeProbes()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(3600_000);
    expect(calls).toHaveLength(1);
    // a cancelled probe is no verdict on the key
    expect(pool.list().map((k) => k.state)).toEqual(['active', 'active']);
  });
});
