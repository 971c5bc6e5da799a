/** One key as the pool holds it: the raw key stays in here and in the lease, nowhere else. */
import type { KeyState } from './key-state.js';
import type { KeyInfo, KeySource } from './types.js';

export interface KeyEntry {
  readonly key: string;
  readonly fingerprint: string;
  label: string | undefined;
  weight: number;
  source: KeySource;
  /** change only through setEntryState(): the fields below are derived from it for the selection scan */
  state: KeyState;
  /** ms from which the key may serve (Infinity while dead or disabled) */
  usableFrom: number;
  /** weight, cut to the probation share while on probation */
  effectiveWeight: number;
  inFlight: number;
  /** virtual finish time for weighted round-robin (see select.ts) */
  pass: number;
  /** set when removed, so a lease still in flight finishes without touching pool state */
  removed: boolean;
}

/**
 * The selection scan runs over every key on every call, so it reads two precomputed numbers instead of
 * interpreting the state each time.
 */
export function setEntryState(e: KeyEntry, state: KeyState, probationShare: number): void {
  e.state = state;
  e.usableFrom = usableFrom(state);
  e.effectiveWeight = state.status === 'probation' ? e.weight * probationShare : e.weight;
}

function usableFrom(s: KeyState): number {
  switch (s.status) {
    case 'active':
    case 'probation':
      return -Infinity;
    case 'cooling':
    case 'degraded':
      return s.until ?? Infinity;
    case 'dead':
    case 'disabled':
      return Infinity;
  }
}

export function keyInfo(e: KeyEntry): KeyInfo {
  const s = e.state;
  return {
    fingerprint: e.fingerprint,
    ...(e.label === undefined ? {} : { label: e.label }),
    state: s.status,
    reason: s.reason,
    since: new Date(s.since).toISOString(),
    until: s.until === null ? null : new Date(s.until).toISOString(),
    inFlight: e.inFlight,
    successes: s.successes,
    failures: s.failures,
    consecutiveFailures: s.consecutiveFailures,
    lastLatencyMs: s.lastLatencyMs,
    lastError: s.lastError,
    weight: e.weight,
    source: e.source,
  };
}
