/**
 * Other replicas' view of the keys (REDIS_URL): each replica publishes its keys' call outcomes, and reads back the
 * others' counts into a local view, refreshed in the background (src/store/redis-outcomes.ts). The pool never
 * waits for it: it reads the local view when it judges a key's transient-failure window (key-state.ts gets the
 * counts as input), and judges again when the view shows new failures.
 */
import type { PeerCounts } from './key-state.js';

export interface PeerOutcomes {
  /** this replica's outcome of a call with this key (batched; never waits) */
  record(fingerprint: string, ok: boolean): void;
  /**
   * The other replicas' outcomes of this key within the transient window, counted only from `sinceMs` on (the key's
   * current status began then: older outcomes were judged already). Undefined when the view is not fresh.
   */
  counts(fingerprint: string, sinceMs: number): PeerCounts | undefined;
  /** called with the keys for which other replicas reported new failures */
  onFailures(listener: (fingerprints: readonly string[]) => void): () => void;
}
