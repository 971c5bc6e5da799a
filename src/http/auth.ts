/**
 * Client and admin authentication: `X-API-KEY: <key>` (the original project's header, also what the Anthropic
 * SDK sends) or `Authorization: Bearer <key>` (what OpenAI clients send). Keys are compared in constant time:
 * both sides are hashed to equal-length digests and every configured key is checked, match or not.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** SHA-256, one shot (no Hash object per request). */
const digest = (s: string): Buffer => hash('sha256', s, 'buffer');

/**
 * The SHA-256 of a presented key, computed once per request by the auth hook and kept on `request.gw` so the
 * named-key lookup, the key check and usage's client fingerprint all reuse it (they all hash the same way).
 */
export const presentedKeyDigest = digest;

export class KeyChecker {
  private digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  /** Replace the accepted keys (config reload, rotation without downtime). */
  setKeys(keys: readonly string[]): void {
    this.digests = keys.map(digest);
  }

  get size(): number {
    return this.digests.length;
  }

  /** Index of the matching key, or -1 (`presentedDigest`: presentedKeyDigest(presented), when already known). Timing does not depend on which key matched or how much of it. */
  match(presented: string | undefined, presentedDigest?: Buffer): number {
    if (presented === undefined || presented.length === 0) return -1;
    const d = presentedDigest ?? digest(presented);
    let found = -1;
    for (let i = 0; i < this.digests.length; i++) {
      if (timingSafeEqual(d, this.digests[i] as Buffer) && found === -1) found = i;
    }
    return found;
  }
}

/** The key a client presented, from X-API-KEY or Authorization: Bearer (X-API-KEY wins when both are sent). */
export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const x = headers['x-api-key'];
  const xKey = (Array.isArray(x) ? x[0] : x)?.trim();
  if (xKey) return xKey;
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^\s*Bearer\s+(.+?)\s*$/i.exec(auth);
    if (m?.[1] !== undefined) return m[1];
  }
  return undefined;
}
