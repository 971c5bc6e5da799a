/**
 * One key's health as a pure state machine: (state, event, now) -> state. No clock, no timers, no I/O, so every
 * rule below is a row in key-state.test.ts. The pool owns in-flight counts and decides which events to send.
 *
 *   active ──429──▶ cooling ──until passes──▶ active (a repeat 429 doubles the cooldown; a success resets it)
 *   active ──5xx/timeouts, judged over a window──▶ degraded ──until passes──▶ active
 *   any ──401/402/403/credit text──▶ dead ──probe ok──▶ probation ──K successes or T elapsed──▶ active
 *   any ──operator──▶ disabled ──operator──▶ probation
 */
import type { PeerCounts } from '../store/types.js';
import type { FailureClass, KeyStatus } from './types.js';

export type { PeerCounts };

/** One request outcome kept for the transient-failure window. */
export interface RecentOutcome {
  readonly at: number;
  readonly ok: boolean;
}

export interface KeyState {
  readonly status: KeyStatus;
  /** why it is in this status, e.g. "429 rate_limit_exceeded"; empty when active */
  readonly reason: string;
  /** ms epoch when it entered this status */
  readonly since: number;
  /** cooling/degraded/probation: when it ends; dead: when the next probe is due; otherwise null */
  readonly until: number | null;
  readonly successes: number;
  readonly failures: number;
  readonly consecutiveFailures: number;
  /** drives the exponential rate-limit cooldown; only a success resets it */
  readonly consecutiveRateLimits: number;
  readonly probationSuccesses: number;
  readonly lastLatencyMs: number | null;
  readonly lastError: string | null;
  readonly lastSuccessAt: number | null;
  readonly recent: readonly RecentOutcome[];
}

export interface KeyStateSettings {
  rateLimitCooldownMs: number;
  maxRateLimitCooldownMs: number;
  transientCooldownMs: number;
  badKeyRetryIntervalMs: number;
  transientWindowMs: number;
  /** how many recent outcomes the window keeps */
  transientWindowSize: number;
  transientMinFailures: number;
  transientFailureRatio: number;
  probationSuccesses: number;
  probationMs: number;
  /** ±fraction applied to computed cooldowns so keys cooled together do not all return in the same ms */
  jitter: number;
}

export const DEFAULT_KEY_STATE_SETTINGS: KeyStateSettings = {
  rateLimitCooldownMs: 60_000,
  maxRateLimitCooldownMs: 15 * 60_000,
  transientCooldownMs: 15_000,
  badKeyRetryIntervalMs: 600_000,
  transientWindowMs: 60_000,
  transientWindowSize: 10,
  transientMinFailures: 3,
  transientFailureRatio: 0.5,
  probationSuccesses: 5,
  probationMs: 60_000,
  jitter: 0.1,
};

/** Outcomes of one key on the other replicas (REDIS_URL), within the window and since the key's status began. */
export interface TransitionContext {
  now: number;
  /** [0, 1); injected so jitter is reproducible in tests */
  random: () => number;
  settings: KeyStateSettings;
  /** other replicas' outcomes of this key, judged together with `recent` (PeerOutcomes in src/store/types.ts); none: this replica alone */
  peers?: PeerCounts | undefined;
}

export type KeyEvent =
  | { type: 'success'; latencyMs: number }
  /** punish false: record it, but the upstream circuit (or a model failure) takes the blame */
  | { type: 'failure'; cls: FailureClass; reason: string; retryAfterSec?: number | undefined; punish?: boolean }
  | { type: 'probeSuccess'; latencyMs: number }
  | { type: 'probeFailure'; cls: FailureClass; reason: string; retryAfterSec?: number | undefined }
  | { type: 'operatorDisable' }
  | { type: 'operatorEnable' }
  /** the upstream circuit opened over failures this key was counted in: undo its cooldown */
  | { type: 'forgive' }
  /** other replicas' outcomes of this key changed (ctx.peers): judge the transient-failure window again */
  | { type: 'peerOutcomes' }
  | { type: 'tick' };

export function initialKeyState(now: number): KeyState {
  return {
    status: 'active',
    reason: '',
    since: now,
    until: null,
    successes: 0,
    failures: 0,
    consecutiveFailures: 0,
    consecutiveRateLimits: 0,
    probationSuccesses: 0,
    lastLatencyMs: null,
    lastError: null,
    lastSuccessAt: null,
    recent: [],
  };
}

/** Usable for a request now; a lapsed cooldown counts as usable even before a tick normalises it. */
export function isUsable(s: KeyState, now: number): boolean {
  if (s.status === 'active' || s.status === 'probation') return true;
  return (s.status === 'cooling' || s.status === 'degraded') && s.until !== null && s.until <= now;
}

/** The parts whose change is worth an event (counters change on every call and are not). */
export function sameStatus(a: KeyState, b: KeyState): boolean {
  return a.status === b.status && a.reason === b.reason && a.until === b.until;
}

/** Returns `s` itself when the event changes nothing, so callers can skip work by identity. */
export function transition(s: KeyState, e: KeyEvent, ctx: TransitionContext): KeyState {
  switch (e.type) {
    case 'success':
      return onSuccess(s, e.latencyMs, ctx);
    case 'failure':
      return onFailure(s, e.cls, e.reason, e.retryAfterSec, e.punish ?? true, ctx);
    case 'probeSuccess':
      return onProbeSuccess(s, e.latencyMs, ctx);
    case 'probeFailure':
      return onProbeFailure(s, e.cls, e.reason, e.retryAfterSec, ctx);
    case 'operatorDisable':
      return s.status === 'disabled' ? s : enter(s, 'disabled', 'disabled by operator', ctx.now, null);
    case 'operatorEnable':
      return s.status === 'active' || s.status === 'probation' ? s : enterProbation(s, 'enabled by operator', ctx);
    case 'forgive':
      return forgive(s, ctx.now);
    case 'peerOutcomes':
      return onPeerOutcomes(s, ctx);
    case 'tick':
      return tick(s, ctx.now);
  }
}

function enter(s: KeyState, status: KeyStatus, reason: string, now: number, until: number | null): KeyState {
  return { ...s, status, reason, since: status === s.status ? s.since : now, until };
}

function enterProbation(s: KeyState, reason: string, ctx: TransitionContext): KeyState {
  return {
    ...enter(s, 'probation', reason, ctx.now, ctx.now + ctx.settings.probationMs),
    consecutiveFailures: 0,
    consecutiveRateLimits: 0,
    probationSuccesses: 0,
    recent: [],
  };
}

function becomeActive(s: KeyState, now: number): KeyState {
  return enter(s, 'active', '', now, null);
}

function lapsed(s: KeyState, now: number): boolean {
  return s.until !== null && s.until <= now;
}

/**
 * A fresh copy of `s` to change before it is returned: every request's success makes one. Written out field by
 * field because V8 builds `{ ...s, field: value }` on a slow path when a spread property is given again: 1.9 µs
 * against 0.5 µs per lease and release (docs/performance.md, "Eighth round"). The test checks that
 * the copy has every field of a state.
 */
export function copyOf(s: KeyState): { -readonly [K in keyof KeyState]: KeyState[K] } {
  return {
    status: s.status,
    reason: s.reason,
    since: s.since,
    until: s.until,
    successes: s.successes,
    failures: s.failures,
    consecutiveFailures: s.consecutiveFailures,
    consecutiveRateLimits: s.consecutiveRateLimits,
    probationSuccesses: s.probationSuccesses,
    lastLatencyMs: s.lastLatencyMs,
    lastError: s.lastError,
    lastSuccessAt: s.lastSuccessAt,
    recent: s.recent,
  };
}

function remember(recent: readonly RecentOutcome[], at: number, ok: boolean, size: number): RecentOutcome[] {
  const next = recent.length >= size ? recent.slice(recent.length - size + 1) : recent.slice();
  next.push({ at, ok });
  return next;
}

function onSuccess(s: KeyState, latencyMs: number, ctx: TransitionContext): KeyState {
  const { now, settings } = ctx;
  const counted = copyOf(s);
  counted.successes = s.successes + 1;
  counted.consecutiveFailures = 0;
  counted.lastLatencyMs = latencyMs;
  counted.lastSuccessAt = now;
  counted.recent = remember(s.recent, now, true, settings.transientWindowSize);
  switch (s.status) {
    case 'active':
      counted.consecutiveRateLimits = 0;
      return counted;
    case 'probation': {
      const probationSuccesses = s.probationSuccesses + 1;
      if (probationSuccesses >= settings.probationSuccesses || lapsed(s, now)) {
        return { ...becomeActive(counted, now), probationSuccesses: 0, consecutiveRateLimits: 0 };
      }
      counted.probationSuccesses = probationSuccesses;
      return counted;
    }
    case 'cooling':
    case 'degraded':
      // Before `until` this is a call that started before the cooldown: it proves little, the cooldown stands.
      return lapsed(s, now) ? { ...becomeActive(counted, now), consecutiveRateLimits: 0 } : counted;
    case 'dead':
    case 'disabled':
      // Only a probe (or the operator) brings these back: a late success from before the verdict is not enough.
      return counted;
  }
}

function onFailure(s: KeyState, cls: FailureClass, reason: string, retryAfterSec: number | undefined, punish: boolean, ctx: TransitionContext): KeyState {
  if (cls === 'client' || cls === 'edge') return s;
  const { now, settings } = ctx;
  const counted: KeyState = { ...s, failures: s.failures + 1, consecutiveFailures: s.consecutiveFailures + 1, lastError: reason };
  if (!punish || s.status === 'disabled') return counted;
  switch (cls) {
    case 'auth':
      if (s.status === 'dead') return counted;
      return { ...enter(counted, 'dead', reason, now, now + settings.badKeyRetryIntervalMs), consecutiveRateLimits: 0, probationSuccesses: 0 };
    case 'rate':
      return onRateLimited(counted, s, reason, retryAfterSec, ctx);
    case 'transient':
      return onTransient(counted, s, reason, ctx);
  }
}

function onRateLimited(counted: KeyState, s: KeyState, reason: string, retryAfterSec: number | undefined, ctx: TransitionContext): KeyState {
  const { now } = ctx;
  if (s.status === 'dead') return counted;
  if (s.status === 'cooling' && !lapsed(s, now)) {
    // Calls started before the first 429 all come back 429 together: they must not escalate the cooldown, but a
    // longer Retry-After than the one we are honouring still counts.
    if (retryAfterSec === undefined) return counted;
    const until = Math.max(s.until ?? now, now + rateCooldownMs(s.consecutiveRateLimits, retryAfterSec, ctx));
    return { ...counted, until };
  }
  const n = s.consecutiveRateLimits + 1;
  return { ...enter(counted, 'cooling', reason, now, now + rateCooldownMs(n, retryAfterSec, ctx)), consecutiveRateLimits: n };
}

/** Retry-After when given (never shortened by jitter), else base × 2^(n−1); both capped. */
export function rateCooldownMs(n: number, retryAfterSec: number | undefined, ctx: TransitionContext): number {
  const { rateLimitCooldownMs, maxRateLimitCooldownMs, jitter } = ctx.settings;
  if (retryAfterSec !== undefined && retryAfterSec > 0) {
    return Math.round(Math.min(retryAfterSec * 1000, maxRateLimitCooldownMs) * (1 + ctx.random() * jitter));
  }
  const base = Math.min(rateLimitCooldownMs * 2 ** Math.max(0, n - 1), maxRateLimitCooldownMs);
  return Math.round(base * (1 + (ctx.random() * 2 - 1) * jitter));
}

function onTransient(counted: KeyState, s: KeyState, reason: string, ctx: TransitionContext): KeyState {
  const { now, settings } = ctx;
  if (s.status === 'dead') return counted;
  if ((s.status === 'cooling' || s.status === 'degraded') && !lapsed(s, now)) return counted;
  const recent = remember(s.recent, now, false, settings.transientWindowSize);
  if (windowTrips(recent, now, settings, ctx.peers)) {
    const cooldown = Math.round(settings.transientCooldownMs * (1 + (ctx.random() * 2 - 1) * settings.jitter));
    return { ...enter({ ...counted, recent }, 'degraded', reason, now, now + cooldown) };
  }
  const next = { ...counted, recent };
  return s.status === 'cooling' || s.status === 'degraded' ? becomeActive(next, now) : next;
}

/**
 * Other replicas failed this key: with this replica's own window, is it now failing most of its calls cluster-wide?
 * Only an active (or lapsed) key or one on probation can be judged degraded this way; nothing else changes.
 */
function onPeerOutcomes(s: KeyState, ctx: TransitionContext): KeyState {
  const { now, settings, peers } = ctx;
  if (peers === undefined || peers.failed === 0) return s;
  if (s.status === 'dead' || s.status === 'disabled') return s;
  if ((s.status === 'cooling' || s.status === 'degraded') && !lapsed(s, now)) return s;
  if (!windowTrips(s.recent, now, settings, peers)) return s;
  const cooldown = Math.round(settings.transientCooldownMs * (1 + (ctx.random() * 2 - 1) * settings.jitter));
  const own = s.recent.filter((r) => !r.ok && r.at > now - settings.transientWindowMs).length;
  return enter(s, 'degraded', `transient failures on ${own + peers.failed} recent calls across replicas`, now, now + cooldown);
}

/** One timeout is noise; a key failing most of its recent calls (here and, with peers, on other replicas) is not. */
function windowTrips(recent: readonly RecentOutcome[], now: number, settings: KeyStateSettings, peers?: PeerCounts): boolean {
  let total = peers === undefined ? 0 : peers.ok + peers.failed;
  let failed = peers === undefined ? 0 : peers.failed;
  for (const r of recent) {
    if (r.at <= now - settings.transientWindowMs) continue;
    total++;
    if (!r.ok) failed++;
  }
  return failed >= settings.transientMinFailures && failed / total >= settings.transientFailureRatio;
}

function onProbeSuccess(s: KeyState, latencyMs: number, ctx: TransitionContext): KeyState {
  const measured: KeyState = { ...s, lastLatencyMs: latencyMs, consecutiveFailures: 0 };
  switch (s.status) {
    case 'dead':
    case 'cooling':
    case 'degraded':
      return enterProbation(measured, `recovering after ${s.reason || s.status}`, ctx);
    case 'active':
    case 'probation':
    case 'disabled':
      return measured;
  }
}

function onProbeFailure(s: KeyState, cls: FailureClass, reason: string, retryAfterSec: number | undefined, ctx: TransitionContext): KeyState {
  const { now, settings } = ctx;
  if (s.status === 'dead') {
    const noted = { ...s, lastError: reason };
    if (cls === 'auth') return { ...noted, reason, until: now + settings.badKeyRetryIntervalMs };
    // A probe that hit a rate limit or an outage learned nothing about the key: ask again sooner than usual.
    const soon = cls === 'rate' ? rateCooldownMs(1, retryAfterSec, ctx) : cls === 'transient' ? settings.transientCooldownMs : Infinity;
    return { ...noted, until: now + Math.min(settings.badKeyRetryIntervalMs, soon) };
  }
  if (cls === 'client' || cls === 'edge' || s.status === 'disabled') return { ...s, lastError: reason };
  // On a live key a failed probe is judged like a failed call: a probe 429 cools, it never kills.
  return onFailure(s, cls, reason, retryAfterSec, true, ctx);
}

function forgive(s: KeyState, now: number): KeyState {
  if (s.status === 'cooling' || s.status === 'degraded') {
    return { ...becomeActive(s, now), consecutiveRateLimits: 0, consecutiveFailures: 0, recent: [] };
  }
  if (s.consecutiveRateLimits === 0 && s.recent.every((r) => r.ok)) return s;
  return { ...s, consecutiveRateLimits: 0, recent: s.recent.filter((r) => r.ok) };
}

function tick(s: KeyState, now: number): KeyState {
  if ((s.status === 'cooling' || s.status === 'degraded' || s.status === 'probation') && lapsed(s, now)) {
    // consecutiveRateLimits survives on purpose: a 429 right after the cooldown must double it.
    return { ...becomeActive(s, now), probationSuccesses: 0 };
  }
  return s;
}
