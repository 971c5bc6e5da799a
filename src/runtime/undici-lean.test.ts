import * as full from 'undici';
import { describe, expect, it } from 'vitest';
import { errors, Pool } from './undici-lean.js';

describe('undici-lean', () => {
  it('loads the same Pool and error classes as the package itself', () => {
    expect(Pool).toBe(full.Pool);
    expect(errors.ConnectTimeoutError).toBe(full.errors.ConnectTimeoutError);
    expect(errors.HeadersTimeoutError).toBe(full.errors.HeadersTimeoutError);
    expect(errors.BodyTimeoutError).toBe(full.errors.BodyTimeoutError);
  });
});
