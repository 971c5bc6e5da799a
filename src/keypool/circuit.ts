/**
 * The upstream-wide circuit. When most keys fail the same way at the same time (an IP-wide 429, an outage), the
 * upstream is in trouble, not the keys: cooling every key would empty the pool for minutes. So the circuit opens
 * for a short, growing hold, the per-key punishment for those failures is undone, and one trial call decides when
 * to close. It steers, it does not block: while it is open, the keys whose recent calls mostly succeed go on
 * serving (serving()); only the others are held.
 *
 * A key is judged on all its recent calls, not on its latest one: every outcome counts with a weight that halves
 * every `halfLifeMs`, and the key is failing when its weighted failures outweigh its weighted successes. So one
 * late timeout on a key that answered hundreds of calls changes nothing, while a key that fails every call after
 * an outage begins turns failing within a few calls. As every weight decays alike, a key's verdict changes only
 * when one of its calls ends. Deterministic: the caller passes `now`; no timers.
 */

export type CircuitClass = 'rate' | 'transient';

/**
 * How one finished call counts: 'other' is a key-specific failure (auth) — the key was tried, but it is not the
 * shared trouble; 'ignored' (client, edge, model failures) says nothing about the upstream's health.
 */
export type CircuitSignal = 'ok' | CircuitClass | 'other' | 'ignored';

export type CircuitPhase = 'closed' | 'open' | 'half_open';

export interface CircuitSettings {
  /** a key called within this counts as tried; one not called for this long is forgotten */
  windowMs: number;
  /** a call's outcome weighs half as much after this */
  halfLifeMs: number;
  /** fewer failing keys than this never trip it (a 2-key pool is judged per key) */
  minKeys: number;
  /** share of the keys tried in the window that must be failing the same way */
  ratio: number;
  baseHoldMs: number;
  maxHoldMs: number;
  /** a trial call that never reports back stops blocking after this */
  trialTimeoutMs: number;
}

export const DEFAULT_CIRCUIT_SETTINGS: CircuitSettings = {
  windowMs: 10_000,
  halfLifeMs: 2_000,
  minKeys: 3,
  ratio: 0.8,
  baseHoldMs: 5_000,
  maxHoldMs: 60_000,
  trialTimeoutMs: 30_000,
};

/**
 * May a key the circuit holds be called now? Keys that are serving() may be called whatever this says. A `trial`
 * admission must be followed by beginTrial() once a held key is picked.
 */
export type Admission = { allow: true; trial: boolean } | { allow: false; cls: CircuitClass; retryAfterMs: number; reason: string };

export interface RecordResult {
  /** skip the per-key punishment for this failure: the circuit has taken it */
  suppress: boolean;
  /** keys counted as failing into a circuit that just opened: undo their cooldowns */
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

/** What a key's recent calls say: mostly answered, mostly failed one way, or nothing either way (auth failures only). */
type Verdict = 'serving' | CircuitClass | 'none';

/** One key's recent calls, each outcome weighted by its age as of `at`. */
interface KeyRecord {
  at: number;
  ok: number;
  rate: number;
  transient: number;
  /** the class of its latest failure: it decides a tie between the two classes */
  lastFailure: CircuitClass | null;
  verdict: Verdict;
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
  /** keys called in the window, least recently called first (re-inserted on every call) */
  private readonly records = new Map<string, KeyRecord>();
  private readonly verdicts: Record<Verdict, number> = { serving: 0, rate: 0, transient: 0, none: 0 };

  constructor(private readonly settings: CircuitSettings = DEFAULT_CIRCUIT_SETTINGS) {}

  admit(now: number): Admission {
    if (this.phase === 'closed') return { allow: true, trial: false };
    if (this.phase === 'open' && this.until !== null && now < this.until) return this.deny(this.until - now);
    if (this.phase === 'half_open' && this.trialAt !== null && now - this.trialAt < this.settings.trialTimeoutMs) {
      return this.deny(1000);
    }
    return { allow: true, trial: true };
  }

  /** The key's recent calls mostly succeed: it serves while the circuit holds the others. */
  serving(fp: string, now: number): boolean {
    const r = this.records.get(fp);
    return r !== undefined && r.verdict === 'serving' && r.at > now - this.settings.windowMs;
  }

  /**
   * A call to the key starts. A key counts as called from then, with no verdict until a call of it ends: otherwise
   * the first calls to end (fast failures) would be all the keys there are, while the slower calls on other keys are
   * still out, and a pool whose healthy keys answer more slowly than its failing ones fail would trip as it starts.
   */
  called(fp: string, now: number): void {
    if (this.records.has(fp)) return;
    this.records.set(fp, { at: now, ok: 0, rate: 0, transient: 0, lastFailure: null, verdict: 'none' });
    this.verdicts.none++;
  }

  beginTrial(now: number): void {
    this.phase = 'half_open';
    this.trialAt = now;
  }

  record(fp: string, signal: CircuitSignal, now: number, opts: { trial?: boolean; retryAfterSec?: number | undefined } = {}): RecordResult {
    this.prune(now);
    if (signal !== 'ignored') this.remember(fp, signal, now);
    if (opts.trial === true && this.phase === 'half_open') return this.judgeTrial(signal, now, opts.retryAfterSec);
    if (signal !== 'rate' && signal !== 'transient') return NOTHING;
    if (this.phase !== 'closed') return { suppress: true, forgive: [] };
    const tried = this.records.size;
    const failing = this.verdicts[signal];
    if (failing < this.settings.minKeys || failing / tried < this.settings.ratio) return NOTHING;
    this.open(
      signal,
      now,
      opts.retryAfterSec,
      `the upstream answered ${label(signal)} to most calls of ${failing} of the ${tried} keys called in the last ${Math.round(this.settings.windowMs / 1000)} s`,
    );
    const forgive: string[] = [];
    for (const [key, r] of this.records) if (r.verdict === signal) forgive.push(key);
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
    // Failures from before the hold must not re-trip it the moment it closes; the serving keys' records stay, so
    // they are still known to serve should it open again soon.
    for (const [fp, r] of this.records) if (r.verdict !== 'serving') this.forget(fp, r);
  }

  private deny(retryAfterMs: number): Admission {
    return { allow: false, cls: this.cls ?? 'transient', retryAfterMs, reason: this.reason };
  }

  private remember(fp: string, signal: Exclude<CircuitSignal, 'ignored'>, now: number): void {
    const prev = this.records.get(fp);
    const r = prev === undefined ? { at: now, ok: 0, rate: 0, transient: 0, lastFailure: null, verdict: 'none' as Verdict } : decayed(prev, now, this.settings.halfLifeMs);
    if (prev !== undefined) this.forget(fp, prev);
    if (signal === 'ok') r.ok++;
    else if (signal === 'rate' || signal === 'transient') {
      r[signal]++;
      r.lastFailure = signal;
    }
    r.verdict = judge(r);
    this.records.set(fp, r);
    this.verdicts[r.verdict]++;
  }

  private forget(fp: string, r: KeyRecord): void {
    this.records.delete(fp);
    this.verdicts[r.verdict]--;
  }

  private prune(now: number): void {
    const oldest = now - this.settings.windowMs;
    for (const [fp, r] of this.records) {
      if (r.at > oldest) break;
      this.forget(fp, r);
    }
  }
}

/**
 * The record as of `now`: every weight shrunk alike, so the verdict stands. Every call's end makes one, so it is
 * written out field by field: V8 builds `{ ...r, at, ok, … }` on a slow path (docs/performance.md, "Ninth round").
 */
function decayed(r: KeyRecord, now: number, halfLifeMs: number): KeyRecord {
  const f = now > r.at ? 2 ** (-(now - r.at) / halfLifeMs) : 1;
  return { at: Math.max(now, r.at), ok: r.ok * f, rate: r.rate * f, transient: r.transient * f, lastFailure: r.lastFailure, verdict: r.verdict };
}

function judge(r: KeyRecord): Verdict {
  if (r.rate + r.transient > r.ok) {
    if (r.rate !== r.transient) return r.rate > r.transient ? 'rate' : 'transient';
    return r.lastFailure ?? 'transient';
  }
  return r.ok > 0 ? 'serving' : 'none';
}

function label(cls: CircuitClass): string {
  return cls === 'rate' ? '429' : 'transient errors';
}
