import * as full from 'undici';
import { describe, expect, it } from 'vitest';
import { errors, parseHeaders, Pool } from './undici-lean.js';

describe('undici-lean', () => {
  it('loads the same Pool and error classes as the package itself', () => {
    expect(Pool).toBe(full.Pool);
    expect(errors.ConnectTimeoutError).toBe(full.errors.ConnectTimeoutError);
    expect(errors.HeadersTimeoutError).toBe(full.errors.HeadersTimeoutError);
    expect(errors.BodyTimeoutError).toBe(full.errors.BodyTimeoutError);
  });

  it('loads the header parser undici uses for its own handlers', () => {
    expect(parseHeaders).toBe(full.util.parseHeaders);
    const raw = ['Content-Type', 'text/html', 'Retry-After', '7', 'Set-Cookie', 'a', 'set-cookie', 'b'].map((s) => Buffer.from(s));
    expect(parseHeaders(raw)).toEqual({ 'content-type': 'text/html', 'retry-after': '7', 'set-cookie': ['a', 'b'] });
  });
});
