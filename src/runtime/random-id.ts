/**
 * Random ids for responses (completion, message, response and tool-call ids) without a `randomBytes` call per id:
 * bytes come from one pool filled by the CSPRNG (`randomFillSync`) 4 KiB at a time, and each byte is handed out
 * once. Ids stay as unguessable as before (the same number of fresh CSPRNG bytes each) and unique.
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let offset = POOL_BYTES;

/** `bytes` fresh random bytes (at most 256), encoded. */
export function randomToken(bytes: number, encoding: 'hex' | 'base64url'): string {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 256) throw new RangeError(`randomToken: bytes must be 1..256, got ${bytes}`);
  if (offset + bytes > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const start = offset;
  offset += bytes;
  return pool.toString(encoding, start, offset);
}
