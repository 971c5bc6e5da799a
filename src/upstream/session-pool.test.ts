import { describe, expect, it } from 'vitest';
import { SessionPool, type SessionCreator } from './session-pool.js';

/** A fake upstream: each createSession waits until the test settles it, so refills are observable one by one. */
class FakeClient implements SessionCreator {
  calls: Array<{ key: string; resolve: (id: string) => void; reject: (err: Error) => void; signal: AbortSignal | undefined }> = [];
  private next = 0;

  createSession(key: string, signal?: AbortSignal): Promise<string> {
    return new Promise((resolve, reject) => {
      this.calls.push({ key, resolve, reject, signal });
      signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    });
  }

  /** settle every pending call with a fresh id */
  async settleAll(): Promise<void> {
    const pending = this.calls.splice(0);
    for (const c of pending) c.resolve(`${c.key}-s${++this.next}`);
    await flush();
  }

  async failAll(): Promise<void> {
    const pending = this.calls.splice(0);
    for (const c of pending) c.reject(new Error('upstream down'));
    await flush();
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** past the point where the pool starts refills (after the caller's own next-tick work) */
async function tick(): Promise<void> {
  await flush();
  await new Promise((r) => setImmediate(r));
}

const never = new AbortController().signal;

function setup(opts: { size?: number; ttlMs?: number; concurrency?: number } = {}) {
  const client = new FakeClient();
  let now = 1_000;
  const errors: string[] = [];
  const pool = new SessionPool({
    client,
    size: opts.size ?? 2,
    ttlMs: opts.ttlMs ?? 60_000,
    concurrency: opts.concurrency ?? 4,
    backoffMs: 100,
    maxBackoffMs: 400,
    now: () => now,
    onError: (_err, fp) => errors.push(fp),
  });
  return { client, pool, errors, advance: (ms: number) => (now += ms) };
}

describe('SessionPool', () => {
  it('creates inline on an empty pool, then fills up off the request path once that worked', async () => {
    const { client, pool } = setup({ size: 2 });
    const first = pool.take('key-a', 'k:a', never);
    // the inline creation goes out alone
    expect(client.calls.map((c) => c.key)).toEqual(['key-a']);
    await client.settleAll();
    await expect(first).resolves.toMatch(/^key-a-s/);
    await tick();
    expect(client.calls.map((c) => c.key)).toEqual(['key-a', 'key-a']);
    await client.settleAll();
    expect(pool.stats()).toMatchObject({ misses: 1, hits: 0, ready: 2, refilled: 2 });
  });

  it('asks a key that refuses sessions once, by the request, and starts no refills for it', async () => {
    const { client, pool } = setup({ size: 2 });
    const first = pool.take('key-a', 'k:a', never);
    await client.failAll();
    await expect(first).rejects.toThrow('upstream down');
    await tick();
    expect(client.calls).toHaveLength(0);
    expect(pool.stats()).toMatchObject({ misses: 1, refilled: 0, refillFailures: 0, ready: 0 });
    // nor when another key's take starts refills
    const other = pool.take('key-b', 'k:b', never);
    await client.settleAll();
    await other;
    await tick();
    expect(client.calls.map((c) => c.key)).toEqual(['key-b', 'key-b']);
  });

  it('takeReady hands out a ready session at once, as take does, and nothing when none is ready', async () => {
    const { client, pool } = setup({ size: 2 });
    // nothing ready: no session, no creation, no miss counted (the caller goes on to take())
    expect(pool.takeReady('key-a', 'k:a')).toBeUndefined();
    expect(client.calls).toHaveLength(0);
    pool.warm('key-a', 'k:a');
    await client.settleAll();
    const a = pool.takeReady('key-a', 'k:a');
    const b = pool.takeReady('key-a', 'k:a');
    expect(a).toMatch(/^key-a-s/);
    expect(b).toMatch(/^key-a-s/);
    expect(a).not.toBe(b);
    expect(pool.takeReady('key-a', 'k:a')).toBeUndefined();
    expect(pool.stats()).toMatchObject({ hits: 2, misses: 0, ready: 0 });
    // and the pool refills after them as after take()
    await tick();
    expect(client.calls.map((c) => c.key)).toEqual(['key-a', 'key-a']);
  });

  it('hands each session out once and refills after every take', async () => {
    const { client, pool } = setup({ size: 2 });
    pool.warm('key-a', 'k:a');
    await client.settleAll();
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const id = await pool.take('key-a', 'k:a', never);
      expect(seen.has(id)).toBe(false);
      seen.add(id);
      // the refill waits until the caller's query has gone out (undici writes on the next tick)
      await new Promise((r) => process.nextTick(r));
      expect(client.calls).toHaveLength(0);
      await new Promise((r) => setImmediate(r));
      expect(client.calls).toHaveLength(1); // the refill for the one just taken
      await client.settleAll();
    }
    expect(pool.stats()).toMatchObject({ hits: 6, misses: 0, ready: 2 });
  });

  it('never hands out a session made with another key', async () => {
    const { client, pool } = setup({ size: 1 });
    pool.warm('key-a', 'k:a');
    await client.settleAll();
    const b = pool.take('key-b', 'k:b', never);
    expect(client.calls.map((c) => c.key)).toEqual(['key-b']);
    await client.settleAll();
    expect(await b).toMatch(/^key-b-/);
    await tick();
    expect(client.calls.map((c) => c.key)).toEqual(['key-b']);
    await client.settleAll();
    expect(await pool.take('key-a', 'k:a', never)).toMatch(/^key-a-/);
  });

  it('drops sessions older than the TTL instead of using them', async () => {
    const { client, pool, advance } = setup({ size: 2, ttlMs: 5_000 });
    pool.warm('key-a', 'k:a');
    await client.settleAll();
    advance(5_001);
    const taken = pool.take('key-a', 'k:a', never);
    expect(pool.stats().expired).toBe(2);
    expect(client.calls).toHaveLength(1); // inline
    await client.settleAll();
    await taken;
    await tick();
    expect(client.calls).toHaveLength(2); // 2 refills
    await client.settleAll();
    expect(pool.stats()).toMatchObject({ hits: 0, misses: 1, ready: 2 });
  });

  it('bounds the refills in flight over all keys', async () => {
    const { client, pool } = setup({ size: 3, concurrency: 2 });
    pool.warm('key-a', 'k:a');
    pool.warm('key-b', 'k:b');
    expect(client.calls).toHaveLength(2);
    await client.settleAll();
    expect(client.calls).toHaveLength(2);
    await client.settleAll();
    await client.settleAll();
    expect(client.calls).toHaveLength(0);
    expect(pool.stats().ready).toBe(6);
  });

  it('stops refilling a key whose refill failed until a request of its own gets a session again', async () => {
    const { client, pool, advance } = setup({ size: 2 });
    pool.warm('key-a', 'k:a');
    await client.failAll();
    // other keys' takes do not restart refills for key-a, however long it has been (the pause is long over)
    advance(60_000);
    const b = pool.take('key-b', 'k:b', never);
    await client.settleAll();
    await b;
    await tick();
    expect(client.calls.map((c) => c.key)).toEqual(['key-b', 'key-b']);
    await client.settleAll();
  });

  it('pauses a key whose refill failed, and the take still gets a session inline', async () => {
    const { client, pool, errors, advance } = setup({ size: 1 });
    pool.warm('key-a', 'k:a');
    await client.failAll();
    expect(errors).toEqual(['k:a']);
    const taken = pool.take('key-a', 'k:a', never);
    expect(client.calls).toHaveLength(1); // inline only: refills are paused
    await client.settleAll();
    await expect(taken).resolves.toMatch(/^key-a-/);
    await tick();
    expect(client.calls).toHaveLength(0); // still paused
    advance(101);
    void pool.take('key-a', 'k:a', never).catch(() => undefined);
    expect(client.calls).toHaveLength(1); // inline
    await client.settleAll();
    await tick();
    expect(client.calls).toHaveLength(1); // the refill, tried again after the pause
    await client.settleAll();
    expect(pool.stats()).toMatchObject({ refillFailures: 1, refilled: 1, ready: 1 });
  });

  it('passes the request signal to an inline creation only', async () => {
    const { client, pool } = setup({ size: 1 });
    const ac = new AbortController();
    const taken = pool.take('key-a', 'k:a', ac.signal);
    expect(client.calls[0]?.signal).toBe(ac.signal);
    await client.settleAll();
    await taken;
    await tick();
    expect(client.calls).toHaveLength(1);
    expect(client.calls[0]?.signal).not.toBe(ac.signal);
    ac.abort();
    expect(client.calls[0]?.signal?.aborted).toBe(false);
    await client.settleAll();
    expect(pool.stats().ready).toBe(1);
    // a request that goes away while its own creation is in flight takes it down with it
    const other = new AbortController();
    const gone = pool.take('key-b', 'k:b', other.signal);
    other.abort();
    await expect(gone).rejects.toThrow('aborted');
  });

  it('stop() aborts refills in flight and starts no more', async () => {
    const { client, pool } = setup({ size: 2 });
    pool.warm('key-a', 'k:a');
    const inFlight = client.calls.slice();
    expect(inFlight).toHaveLength(2);
    await pool.stop();
    expect(inFlight.every((c) => c.signal?.aborted)).toBe(true);
    client.calls.length = 0;
    const taken = pool.take('key-a', 'k:a', never);
    expect(client.calls).toHaveLength(1); // inline only
    await client.settleAll();
    await taken;
    expect(pool.stats().ready).toBe(0);
  });

  it('rejects a size or TTL that makes no sense', () => {
    const client = new FakeClient();
    expect(() => new SessionPool({ client, size: 0, ttlMs: 1000 })).toThrow(RangeError);
    expect(() => new SessionPool({ client, size: 1, ttlMs: 0 })).toThrow(RangeError);
  });
});
