/**
 * The SHA-256 of a presented client key, remembered for the next request that presents the same string: a client
 * sends its one key on every request, and hashing it through node's crypto binding was about 1.5 % of a request's
 * instructions (docs/performance.md, "Ninth round"). The comparison stays KeyChecker's, constant-time over every
 * configured key; what the memo can tell by its timing is only whether the same string came recently. At most
 * MAX_KEYS strings are kept (a flood of guesses clears it, it never grows past that). The digests are shared:
 * callers only read them.
 */
import { hash } from 'node:crypto';

const MAX_KEYS = 256;
const memo = new Map<string, Buffer>();

export function memoSha256(key: string): Buffer {
  let digest = memo.get(key);
  if (digest === undefined) {
    if (memo.size >= MAX_KEYS) memo.clear();
    digest = hash('sha256', key, 'buffer');
    memo.set(key, digest);
  }
  return digest;
}
