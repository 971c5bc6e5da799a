/**
 * The upstream-wide circuit. When most keys fail the same way at the same time (an IP-wide 429, an outage), the
 * upstream is in trouble, not the keys: cooling every key would empty the pool for minutes. So the
 * circuit opens for a short, growing hold, the per-key punishment for those failures is undone, and one trial call
 * decides when to close. Deterministic: the caller passes `now`; no timers.
 */

export type CircuitClass = 'rate' | 'transient';

/**
 * How one finished call counts: 'other' is a key-specific failure (auth) — the key was tried, but it is not the
 * shared trouble; 'ignored' (client, edge, model failures) says nothing about the upstream's health.
 */
export type CircuitSignal = 'ok' | CircuitClass | 'other' | 'ignored';

export type CircuitPhase = 'closed' | 'open' | 'half_open';

export interface CircuitSettings {
  windowMs: number;
  /** fewer distinct failing keys than this never trip it (a 2-key pool is judged per key) */
  minKeys: number;
  /** share of the keys tried in the window that must fail the same way */
  ratio: number;
  baseHoldMs: number;
  maxHoldMs: number;
  /** a trial call that never reports back stops blocking after this */
  trialTimeoutMs: number;
}

export const DEFAULT_CIRCUIT_SETTINGS: CircuitSettings = {
  windowMs: 10_000,
  minKeys: 3,
  ratio: 0.8,
  baseHoldMs: 5_000,
  maxHoldMs: 60_000,
  trialTimeoutMs: 30_000,
};

export type Admission = { allow: true; trial: boolean } | { allow: false; cls: CircuitClass; retryAfterMs: number; reason: string };

export interface RecordResult {
  /** skip the per-key punishment for this failure: the circuit has taken it */
  suppress: boolean;
  /** keys whose recent failure was counted into a circuit that just opened: undo their cooldowns */
  forgive: readonly string[];
}

export interface CircuitInfo {
  phase: CircuitPhase;
  cls: CircuitClass | null;
  reason: string;
  since: number | null;
  until: number | null;
  trips: number;
}

const NOTHING: RecordResult = { suppress: false, forgive: [] };

export class UpstreamCircuit {
  private phase: CircuitPhase = 'closed';
  private cls: CircuitClass | null = null;
  private reason = '';
  private since: number | null = null;
  private until: number | null = null;
  private trips = 0;
  private trialAt: number | null = null;
  /** latest outcome per key in the window, oldest first (re-inserted on update) */
  private readonly latest = new Map<string, { at: number; signal: CircuitSignal }>();
  private readonly counts = { ok: 0, rate: 0, transient: 0, other: 0, ignored: 0 };

  constructor(private readonly settings: CircuitSettings = DEFAULT_CIRCUIT_SETTINGS) {}

  /** May a call go out now? A `trial` admission must be followed by beginTrial() once a key is picked. */
  admit(now: number): Admission {
    if (this.phase === 'closed') return { allow: true, trial: false };
    if (this.phase === 'open' && this.until !== null && now < this.until) return this.deny(this.until - now);
    if (this.phase === 'half_open' && this.trialAt !== null && now - this.trialAt < this.settings.trialTimeoutMs) {
      return this.deny(1000);
    }
    return { allow: true, trial: true };
  }

  beginTrial(now: number): void {
    this.phase = 'half_open';
    this.trialAt = now;
  }

  record(fp: string, signal: CircuitSignal, now: number, opts: { trial?: boolean; retryAfterSec?: number | undefined } = {}): RecordResult {
    this.prune(now);
    if (opts.trial === true && this.phase === 'half_open') return this.judgeTrial(signal, now, opts.retryAfterSec);
    if (signal === 'ignored') return NOTHING;
    this.remember(fp, signal, now);
    if (signal !== 'rate' && signal !== 'transient') return NOTHING;
    if (this.phase !== 'closed') return { suppress: true, forgive: [] };
    const tried = this.latest.size;
    const failing = this.counts[signal];
    if (failing < this.settings.minKeys || failing / tried < this.settings.ratio) return NOTHING;
    this.open(
      signal,
      now,
      opts.retryAfterSec,
      `the upstream answered ${label(signal)} to ${failing} of ${tried} keys tried in the last ${Math.round(this.settings.windowMs / 1000)} s`,
    );
    const forgive: string[] = [];
    for (const [key, v] of this.latest) if (v.signal === signal) forgive.push(key);
    return { suppress: true, forgive };
  }

  info(): CircuitInfo {
    return { phase: this.phase, cls: this.cls, reason: this.reason, since: this.since, until: this.until, trips: this.trips };
  }

  private judgeTrial(signal: CircuitSignal, now: number, retryAfterSec: number | undefined): RecordResult {
    this.trialAt = null;
    if (signal === 'ok') {
      this.close();
      return NOTHING;
    }
    if (signal === 'rate' || signal === 'transient') {
      this.open(signal, now, retryAfterSec, `the trial call still got ${label(signal)}`);
      return { suppress: true, forgive: [] };
    }
    // The trial key had its own trouble (or the client left): that proves nothing either way; let another try.
    return NOTHING;
  }

  private open(cls: CircuitClass, now: number, retryAfterSec: number | undefined, reason: string): void {
    this.trips++;
    const growing = this.settings.baseHoldMs * 2 ** (this.trips - 1);
    const hold = Math.min(Math.max(growing, (retryAfterSec ?? 0) * 1000), this.settings.maxHoldMs);
    if (this.phase === 'closed') this.since = now;
    this.phase = 'open';
    this.cls = cls;
    this.reason = reason;
    this.until = now + hold;
    this.trialAt = null;
  }

  private close(): void {
    this.phase = 'closed';
    this.cls = null;
    this.reason = '';
    this.since = null;
    this.until = null;
    this.trips = 0;
    // Failures from before the hold must not re-trip it the moment it closes.
    this.latest.clear();
    for (const k of Object.keys(this.counts) as (keyof typeof this.counts)[]) this.counts[k] = 0;
  }

  private deny(retryAfterMs: number): Admission {
    return { allow: false, cls: this.cls ?? 'transient', retryAfterMs, reason: this.reason };
  }

  private remember(fp: string, signal: CircuitSignal, now: number): void {
    const prev = this.latest.get(fp);
    if (prev !== undefined) {
      this.counts[prev.signal]--;
      this.latest.delete(fp);
    }
    this.latest.set(fp, { at: now, signal });
    this.counts[signal]++;
  }

  private prune(now: number): void {
    const oldest = now - this.settings.windowMs;
    for (const [fp, v] of this.latest) {
      if (v.at > oldest) break;
      this.latest.delete(fp);
      this.counts[v.signal]--;
    }
  }
}

function label(cls: CircuitClass): string {
  return cls === 'rate' ? '429' : 'transient errors';
}
