/**
 * The contract between the engine (src/core/engine.ts) and the key pool (src/keypool/pool.ts).
 * The engine asks for a lease, calls the upstream with it, and reports how the call went; the pool decides
 * everything else (which key, cooldowns, death, recovery, the upstream-wide circuit).
 */
import type { UpstreamFailure } from '../ondemand/failure.js';

/** How a failure reflects on the key that made the call (src/keypool/classify.ts decides). */
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

export interface KeyLeaser {
  /**
   * A usable key, least busy first. When none is usable now but one is due back within the configured short wait
   * (ALL_KEYS_OUT_WAIT_MS), waits for it. Otherwise throws a GatewayError: 429 when every key is only
   * rate-limited, 503 otherwise, with retryAfterSec = when the first key is due back.
   */
  acquire(options?: AcquireOptions): Promise<KeyLease>;
  /** how many keys could serve right now (for /readyz) */
  usableCount(): number;
}

import type { KeySource } from '../store/types.js';

export type { KeySource };

/** A key's health status (src/keypool/key-state.ts has the transitions). */
export type KeyStatus = 'active' | 'probation' | 'cooling' | 'degraded' | 'dead' | 'disabled';

/** What operators, the dashboard and metrics see of a key. Never the raw key. */
export interface KeyInfo {
  fingerprint: string;
  label?: string;
  state: KeyStatus;
  /** why it is in this state, e.g. "401 unauthenticated"; empty when active */
  reason: string;
  /** ISO time it entered this state */
  since: string;
  /** ISO time it is due back (cooling, degraded, probation end) or next probed (dead); null otherwise */
  until: string | null;
  inFlight: number;
  successes: number;
  failures: number;
  consecutiveFailures: number;
  lastLatencyMs: number | null;
  lastError: string | null;
  weight: number;
  source: KeySource;
}

/** A cheap real upstream call with one key (the lead wires it to creating a session). May throw an UpstreamFailure. */
export type ProbeFn = (key: string, signal: AbortSignal) => Promise<CallOutcome>;
