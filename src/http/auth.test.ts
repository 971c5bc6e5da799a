import { beforeEach, describe, expect, it, vi } from 'vitest';

// count the constant-time comparisons KeyChecker makes, and the lengths it compares
const calls: Array<[number, number]> = [];
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return {
    ...real,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      calls.push([a.byteLength, b.byteLength]);
      return real.timingSafeEqual(a, b);
    },
  };
});

const { KeyChecker, presentedKey } = await import('./auth.js');

describe('KeyChecker: constant-time key comparison', () => {
  const keys = ['sk-first-key-aaaaaaaa', 'sk-second-key-bbbbbbbb', 'sk-third-key-cccccccc'];
  beforeEach(() => {
    calls.length = 0;
  });

  it('finds the matching key', () => {
    const checker = new KeyChecker(keys);
    expect(checker.match(keys[0])).toBe(0);
    expect(checker.match(keys[2])).toBe(2);
    expect(checker.match('sk-first-key-aaaaaaab')).toBe(-1);
    expect(checker.match('')).toBe(-1);
    expect(checker.match(undefined)).toBe(-1);
  });

  it('compares against every configured key whichever matches, always as equal-length digests', () => {
    const checker = new KeyChecker(keys);
    for (const presented of [keys[0]!, keys[1]!, keys[2]!, 'wrong', 'x'.repeat(10_000), keys[0]!.slice(0, 5)]) {
      calls.length = 0;
      checker.match(presented);
      expect(calls).toHaveLength(keys.length);
      for (const [a, b] of calls) {
        expect(a).toBe(32);
        expect(b).toBe(32);
      }
    }
  });

  it('a prefix of a key or the key with extra bytes never matches', () => {
    const checker = new KeyChecker(keys);
    expect(checker.match(keys[1]!.slice(0, -1))).toBe(-1);
    expect(checker.match(`${keys[1]!} `)).toBe(-1);
    expect(checker.match(keys[1]!.toUpperCase())).toBe(-1);
  });

  it('reads X-API-KEY first, then Authorization: Bearer', () => {
    expect(presentedKey({ 'x-api-key': ' a ', authorization: 'Bearer b' })).toBe('a');
    expect(presentedKey({ authorization: 'bearer  b ' })).toBe('b');
    expect(presentedKey({ authorization: 'Basic Zm9v' })).toBeUndefined();
    expect(presentedKey({})).toBeUndefined();
  });
});
