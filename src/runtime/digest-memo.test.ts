import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { memoSha256 } from './digest-memo.js';

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

describe('memoSha256', () => {
  it.each(['sk-client-key-1', '', 'ключ-ünïcödé', 'x'.repeat(300)])('is the SHA-256 of %j, the first time and the next', (key) => {
    expect(memoSha256(key).equals(sha256(key))).toBe(true);
    expect(memoSha256(key).equals(sha256(key))).toBe(true);
  });

  it('hands out the remembered digest for a string seen before', () => {
    expect(memoSha256('sk-seen-twice')).toBe(memoSha256('sk-seen-twice'));
  });

  it('stays right past its bound, for new strings and the ones it forgot', () => {
    const keys = Array.from({ length: 600 }, (_, i) => `sk-guess-${i}`);
    for (const k of keys) expect(memoSha256(k).equals(sha256(k))).toBe(true);
    for (const k of keys) expect(memoSha256(k).equals(sha256(k))).toBe(true);
  });
});
