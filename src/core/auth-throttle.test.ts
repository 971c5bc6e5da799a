import { describe, expect, it } from 'vitest';
import { addFailure, AuthThrottle, clientBucket, type FailureCount, retryAfterSec, weakKeyReason } from './auth-throttle.js';
import { parseTrustedProxies } from './trusted-proxies.js';

describe('clientBucket', () => {
  it.each([
    ['127.0.0.3', '127.0.0.3'],
    ['::ffff:127.0.0.3', '127.0.0.3'],
    ['203.0.113.9', '203.0.113.9'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff::1', '2001:db8:1:2::/64'],
    ['::1', '0:0:0:0::/64'],
    ['not-an-address', 'not-an-address'],
  ])('%s is counted as %s', (address, bucket) => {
    expect(clientBucket(address)).toBe(bucket);
  });
});

describe('addFailure', () => {
  const W = 600_000;
  it.each<[string, FailureCount | undefined, number, FailureCount]>([
    ['the first failure opens a window', undefined, 1000, { failures: 1, resetAtMs: 1000 + W }],
    ['a failure inside the window adds to it', { failures: 4, resetAtMs: 5000 }, 4999, { failures: 5, resetAtMs: 5000 }],
    ['a failure after the window opens a new one', { failures: 30, resetAtMs: 5000 }, 5000, { failures: 1, resetAtMs: 5000 + W }],
  ])('%s', (_name, count, now, expected) => {
    expect(addFailure(count, now, W)).toEqual(expected);
  });
});

describe('retryAfterSec', () => {
  it.each<[string, FailureCount | undefined, number, number]>([
    ['no failures: may try', undefined, 0, 0],
    ['under the limit: may try', { failures: 19, resetAtMs: 10_000 }, 0, 0],
    ['at the limit: waits for the window to end', { failures: 20, resetAtMs: 10_000 }, 0, 10],
    ['a part of a second rounds up', { failures: 25, resetAtMs: 10_000 }, 9_001, 1],
    ['window over: may try again', { failures: 500, resetAtMs: 10_000 }, 10_000, 0],
  ])('%s', (_name, count, now, expected) => {
    expect(retryAfterSec(count, now, 20)).toBe(expected);
  });
});

describe('AuthThrottle', () => {
  it('refuses an address once it has `limit` failures, not another address, and forgets it when the window ends', () => {
    const events = { failures: 0, throttled: 0 };
    const t = new AuthThrottle({ limit: 3, windowMs: 10_000 }, { onFailure: () => events.failures++, onThrottled: () => events.throttled++ });
    for (let i = 0; i < 3; i++) {
      expect(t.check('a', 0)).toBe(0);
      t.fail('a', 0);
    }
    expect(t.check('a', 1000)).toBe(9);
    expect(t.check('b', 1000)).toBe(0);
    expect(t.check('a', 10_000)).toBe(0);
    expect(events).toEqual({ failures: 3, throttled: 1 });
  });

  it('takes a higher count learnt from elsewhere and keeps its own when that is higher', () => {
    const t = new AuthThrottle({ limit: 3, windowMs: 10_000 });
    t.fail('a', 0);
    t.learn('a', { failures: 5, resetAtMs: 8000 });
    expect(t.check('a', 0)).toBe(8);
    t.learn('a', { failures: 1, resetAtMs: 8000 });
    expect(t.check('a', 0)).toBe(8);
  });
});

describe('weakKeyReason', () => {
  it.each([
    ['password', 'is a common password'],
    ['Password', 'is a common password'],
    ['sk-123456', 'is a common password'],
    ['hunter2xyz', 'is shorter than 16 characters'],
    ['aaaaaaaaaaaaaaaaaaaaaaaa', 'repeats one or two characters'],
    ['sk-3f9c2b7e1d4a8f60c5e2', undefined],
  ])('%s: %s', (key, reason) => {
    expect(weakKeyReason(key)).toBe(reason);
  });
});

describe('parseTrustedProxies', () => {
  it.each([
    ['', undefined],
    ['0', undefined],
    ['1', { hops: 1 }],
    ['10.0.0.1, 10.1.0.0/16', { addresses: ['10.0.0.1', '10.1.0.0/16'] }],
    ['loopback,uniquelocal,fd00::/8', { addresses: ['loopback', 'uniquelocal', 'fd00::/8'] }],
  ])('%j', (raw, expected) => {
    expect(parseTrustedProxies(raw)).toEqual(expected);
  });

  it.each(['everyone', '10.0.0.300', '33', '10.0.0.0/33'])('refuses %j', (raw) => {
    expect(() => parseTrustedProxies(raw)).toThrow();
  });
});
