import { describe, expect, it } from 'vitest';
import { randomToken } from './random-id.js';

describe('randomToken', () => {
  it('encodes the requested number of bytes', () => {
    expect(randomToken(12, 'hex')).toMatch(/^[0-9a-f]{24}$/);
    expect(randomToken(18, 'base64url')).toMatch(/^[A-Za-z0-9_-]{24}$/);
  });

  it('never repeats across pool refills', () => {
    const seen = new Set<string>();
    // 4 KiB buffer / 18 bytes: this crosses the refill boundary several times
    for (let i = 0; i < 2000; i++) seen.add(randomToken(18, 'base64url'));
    expect(seen.size).toBe(2000);
  });

  it('refuses sizes it cannot serve', () => {
    expect(() => randomToken(0, 'hex')).toThrow(RangeError);
    expect(() => randomToken(257, 'hex')).toThrow(RangeError);
  });
});
