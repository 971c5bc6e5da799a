/**
 * The contract between the engine (src/core/engine.ts) and the key pool (src/pool/pool.ts).
 * The engine asks for a lease, calls the upstream with it, and reports how the call went; the pool decides
 * everything else (which key, cooldowns, death, recovery, the upstream-wide circuit).
 */
import type { UpstreamFailure } from '../ondemand/failure.js';

/** How a failure reflects on the key that made the call (src/pool/classify.ts decides). */
export type FailureClass =
  /** 401, a 403 that is not an edge block, 402, credit/quota text: the key is dead until a probe says otherwise */
  | 'auth'
  /** 429: cool down for Retry-After or a default, growing on repeats; never death */
  | 'rate'
  /** 5xx, timeouts, resets, cut streams: short cooldown judged on the failure rate over a window */
  | 'transient'
  /** a 403 HTML edge block (Cloudflare 1010): the upstream's edge, not the key */
  | 'edge'
  /** the client's own fault (400, 404, 413, 422, client hung up): never counts against a key */
  | 'client';

export type CallOutcome =
  | { ok: true; latencyMs: number }
  | { ok: false; failure: UpstreamFailure };

export interface KeyLease {
  /** the raw upstream key: goes into the `apikey` header, never into a log */
  readonly key: string;
  /** short, stable, safe to log (e.g. "k:3f9a1c") */
  readonly fingerprint: string;
  /** exactly once per lease; later calls are ignored */
  release(outcome: CallOutcome): void;
}

export interface AcquireOptions {
  /** fingerprints already tried for this request */
  exclude?: ReadonlySet<string>;
  signal?: AbortSignal;
}

export interface KeyPool {
  /**
   * A usable key, least busy first. When none is usable now but one is due back within the configured short wait
   * (ALL_KEYS_OUT_WAIT_MS), waits for it. Otherwise throws a GatewayError: 429 when every key is only
   * rate-limited, 503 otherwise, with retryAfterSec = when the first key is due back.
   */
  acquire(options?: AcquireOptions): Promise<KeyLease>;
  /** how many keys could serve right now (for /readyz) */
  usableCount(): number;
}
