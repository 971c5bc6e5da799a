/**
 * The contract between the engine (src/core/engine.ts) and the key pool (src/keypool/pool.ts).
 * The engine asks for a lease, calls the upstream with it, and reports how the call went; the pool decides
 * everything else (which key, cooldowns, death, recovery, the upstream-wide circuit).
 */
import type { AcquireOptions, CallOutcome, KeyLease, Leaser } from '../core/ports.js';

/** How a failure reflects on the key that made the call (src/core/failure-policy.ts decides). */
export type { FailureClass } from '../core/failure-policy.js';
export type { AcquireOptions, CallOutcome, KeyLease };

export interface KeyLeaser extends Leaser {
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

/** A cheap real upstream call with one key (src/gateway.ts wires it to creating a session). May throw an UpstreamFailure. */
export type ProbeFn = (key: string, signal: AbortSignal) => Promise<CallOutcome>;
