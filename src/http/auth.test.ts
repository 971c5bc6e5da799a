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

const { KeyChecker, moveQueryKey, presentedKey } = await import('./auth.js');

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

describe('Gemini keys: x-goog-api-key and ?key=', () => {
  it('x-goog-api-key is a client key, after X-API-KEY and before Bearer', () => {
    expect(presentedKey({ 'x-goog-api-key': ' g ' })).toBe('g');
    expect(presentedKey({ 'x-api-key': 'x', 'x-goog-api-key': 'g' })).toBe('x');
    expect(presentedKey({ 'x-goog-api-key': 'g', authorization: 'Bearer b' })).toBe('g');
    expect(presentedKey({ 'x-goog-api-key': '', authorization: 'Bearer b' })).toBe('b');
  });

  it.each([
    ['/v1beta/models/m:generateContent?key=K', '/v1beta/models/m:generateContent', 'K'],
    ['/v1beta/models/m:streamGenerateContent?alt=sse&key=K', '/v1beta/models/m:streamGenerateContent?alt=sse', 'K'],
    ['/v1beta/models?key=K&pageSize=5', '/v1beta/models?pageSize=5', 'K'],
    ['/v1beta/models?monkey=1', '/v1beta/models?monkey=1', undefined],
    ['/v1/chat/completions', '/v1/chat/completions', undefined],
  ])('%s → %s', (url, rewritten, key) => {
    const headers: Record<string, string> = {};
    expect(moveQueryKey({ url, headers })).toBe(rewritten);
    expect(headers['x-goog-api-key']).toBe(key);
  });

  it('a header already set wins over the query key, which still leaves the URL', () => {
    const headers = { 'x-goog-api-key': 'H' };
    expect(moveQueryKey({ url: '/v1beta/models?key=Q', headers })).toBe('/v1beta/models');
    expect(headers['x-goog-api-key']).toBe('H');
  });
});
