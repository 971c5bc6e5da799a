/** Response ids from a 4 KiB CSPRNG buffer instead of a randomBytes call per id; why, and the measurement: docs/performance.md, "Runtime tuning". */
import { randomFillSync } from 'node:crypto';

const BUFFER_BYTES = 4096;
const buffer = Buffer.allocUnsafe(BUFFER_BYTES);
let offset = BUFFER_BYTES;

/** `bytes` fresh random bytes (at most 256), encoded. */
export function randomToken(bytes: number, encoding: 'hex' | 'base64url'): string {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 256) throw new RangeError(`randomToken: bytes must be 1..256, got ${bytes}`);
  if (offset + bytes > BUFFER_BYTES) {
    randomFillSync(buffer);
    offset = 0;
  }
  const start = offset;
  offset += bytes; // each byte is handed out once
  return buffer.toString(encoding, start, offset);
}
