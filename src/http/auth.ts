/**
 * Client and admin authentication: `X-API-KEY: <key>` (the original project's header, also what the Anthropic
 * SDK sends), `x-goog-api-key: <key>` (Gemini clients; their `?key=` is moved into it) or `Authorization: Bearer
 * <key>` (what OpenAI clients send). Keys are compared in constant time:
 * both sides are hashed to equal-length digests and every configured key is checked, match or not.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { memoSha256 } from '../runtime/digest-memo.js';

/** SHA-256, one shot (no Hash object per request). */
const digest = (s: string): Buffer => hash('sha256', s, 'buffer');

/**
 * The SHA-256 of a presented key, taken once per request by the auth hook and kept on `request.gw` so the
 * named-key lookup, the key check and usage's client fingerprint all reuse it (they all hash the same way); a key
 * presented again gets the digest it got before (src/runtime/digest-memo.ts). Read, never written to.
 */
export const presentedKeyDigest: (key: string) => Buffer = memoSha256;

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

const headerValue = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value)?.trim();

/** The key a client presented, from X-API-KEY, x-goog-api-key or Authorization: Bearer (first found, in that order). */
export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const xKey = headerValue(headers['x-api-key']) || headerValue(headers['x-goog-api-key']);
  if (xKey) return xKey;
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^\s*Bearer\s+(.+?)\s*$/i.exec(auth);
    if (m?.[1] !== undefined) return m[1];
  }
  return undefined;
}

/**
 * A `?key=` in the URL (how Google's API takes a key) moved into `x-goog-api-key` (unless that header is set) and
 * out of the URL, which is returned: run before routing, so no log line, error or route ever sees the key.
 */
export function moveQueryKey(req: { url?: string | undefined; headers: IncomingHttpHeaders }): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  if (q < 0 || !/(?:^|&)key=/.test(url.slice(q + 1))) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  const key = params.get('key')?.trim();
  params.delete('key');
  if (key && req.headers['x-goog-api-key'] === undefined) req.headers['x-goog-api-key'] = key;
  const rest = params.toString();
  return rest === '' ? url.slice(0, q) : `${url.slice(0, q)}?${rest}`;
}
