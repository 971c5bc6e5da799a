/**
 * The lease the engine actually holds in a running gateway keeps its raw key to itself: serialised, inspected or
 * logged, it shows the fingerprint only. Nothing between the pool and the engine may rebuild it as a plain object.
 */
import { inspect } from 'node:util';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { KeyLease } from '../src/keypool/types.js';
import { CLIENT_KEY, UPSTREAM_KEYS, startStack, type Stack } from './harness.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => stack.close());

describe('the lease the engine receives', () => {
  it('shows no key under JSON.stringify, util.inspect or a pino log line', async () => {
    const leases: KeyLease[] = [];
    // the engine leases from this very object: a spy on it sees every lease the engine gets
    const acquire = stack.gateway.pool.acquire.bind(stack.gateway.pool);
    const spy = vi.spyOn(stack.gateway.pool, 'acquire').mockImplementation(async (options) => {
      const lease = await acquire(options);
      leases.push(lease);
      return lease;
    });
    try {
      const res = await request(`${stack.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.statusCode).toBe(200);
      await res.body.text();
    } finally {
      spy.mockRestore();
    }
    expect(leases).toHaveLength(1);
    const lease = leases[0] as KeyLease;
    expect(UPSTREAM_KEYS).toContain(lease.key);

    const json = JSON.stringify({ lease });
    const inspected = inspect({ lease }, { depth: 5, showHidden: true });
    stack.gateway.app.log.info({ lease, nested: { lease } }, 'lease-secrecy probe');
    const line = stack
      .logs()
      .split('\n')
      .find((l) => l.includes('lease-secrecy probe'));
    expect(line).toBeDefined();
    for (const text of [json, inspected, line as string]) {
      expect(text).toContain(lease.fingerprint);
      for (const key of UPSTREAM_KEYS) expect(text).not.toContain(key);
    }
  });
});
