/**
 * Which usable key serves the next call: least in-flight per unit of weight first (a busy key is a slow key);
 * among equals, weighted round-robin by virtual time — each pick advances the key's `pass` by 1/weight, and the
 * lowest pass goes next — so idle traffic still spreads over keys in proportion to their weights.
 *
 * The scan starts after the last pick and stops at the first idle key whose pass has not run ahead: nothing can
 * beat it. In steady round-robin that is the very next key, so a pick costs O(1); the worst case (every key busy)
 * is one linear scan, ~60 µs for 10k keys.
 */
import type { KeyEntry } from './entry.js';

const EPSILON = 1e-9;

/** The keys one pick must pass over: a Set, or any test by fingerprint. */
export type KeyFilter = { has(fingerprint: string): boolean };

export class KeySelector {
  /** the pass of the last pick: keys that were out (or are new) rejoin here instead of owing a burst of catch-up */
  private virtualTime = 0;
  private cursor = 0;

  pick(entries: readonly KeyEntry[], now: number, exclude: KeyFilter | undefined): KeyEntry | undefined {
    const n = entries.length;
    const vt = this.virtualTime;
    let best: KeyEntry | undefined;
    let bestIndex = -1;
    let bestScore = Infinity;
    let bestPass = Infinity;
    let i = this.cursor < n ? this.cursor : 0;
    for (let seen = 0; seen < n; seen++, i = i + 1 === n ? 0 : i + 1) {
      const e = entries[i] as KeyEntry;
      if (e.usableFrom > now) continue;
      if (exclude !== undefined && exclude.has(e.fingerprint)) continue;
      const score = e.inFlight / e.effectiveWeight;
      if (score > bestScore + EPSILON) continue;
      const pass = e.pass > vt ? e.pass : vt;
      if (score < bestScore - EPSILON || pass < bestPass) {
        best = e;
        bestIndex = i;
        bestScore = score;
        bestPass = pass;
        if (score === 0 && pass === vt) break;
      }
    }
    if (best !== undefined) {
      this.virtualTime = bestPass;
      this.cursor = bestIndex + 1;
      best.pass = bestPass + 1 / best.effectiveWeight;
    }
    return best;
  }
}
