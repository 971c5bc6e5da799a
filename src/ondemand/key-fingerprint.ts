import { createHash } from 'node:crypto';

/**
 * The only name a key goes by outside the pool: in logs, errors, the admin API and the store's primary key.
 * 8 hex digits are short enough to read aloud; the pool falls back to 16 on the rare collision.
 */
export function fingerprintKey(key: string, hexDigits = 8): string {
  return `k:${createHash('sha256').update(key).digest('hex').slice(0, hexDigits)}`;
}
