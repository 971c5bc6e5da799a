import { describe, expect, it } from 'vitest';
import { copyOf, initialKeyState, isUsable, rateCooldownMs, transition, type KeyEvent, type KeyState, type KeyStateSettings, type RecentOutcome } from './key-state.js';

const settings: KeyStateSettings = {
  rateLimitCooldownMs: 60_000,
  maxRateLimitCooldownMs: 900_000,
  transientCooldownMs: 15_000,
  badKeyRetryIntervalMs: 600_000,
  transientWindowMs: 60_000,
  transientWindowSize: 10,
  transientMinFailures: 3,
  transientFailureRatio: 0.5,
  probationSuccesses: 3,
  probationMs: 60_000,
  jitter: 0.1,
};
/** 0.5 makes symmetric jitter exactly ×1 and Retry-After jitter ×1.05 */
const ctx = (now: number) => ({ now, random: () => 0.5, settings });

const T = 1_000_000;
const state = (over: Partial<KeyState> = {}): KeyState => ({ ...initialKeyState(T - 100_000), ...over });
const outcomes = (at: number, ...oks: boolean[]): RecentOutcome[] => oks.map((ok) => ({ at, ok }));

const ok: KeyEvent = { type: 'success', latencyMs: 42 };
const auth: KeyEvent = { type: 'failure', cls: 'auth', reason: '401 unauthenticated' };
const rate: KeyEvent = { type: 'failure', cls: 'rate', reason: '429 rate_limit_exceeded' };
const rateAfter = (s: number): KeyEvent => ({ ...rate, retryAfterSec: s });
const transient: KeyEvent = { type: 'failure', cls: 'transient', reason: '502' };
const probeOk: KeyEvent = { type: 'probeSuccess', latencyMs: 7 };
const probeFail = (cls: 'auth' | 'rate' | 'transient' | 'client', reason = 'x'): KeyEvent => ({ type: 'probeFailure', cls, reason });

const dead = state({ status: 'dead', reason: '401 unauthenticated', since: T - 50_000, until: T + 10_000 });
const coolingAhead = state({ status: 'cooling', reason: '429', since: T - 1_000, until: T + 59_000, consecutiveRateLimits: 1 });
const coolingLapsed = state({ status: 'cooling', reason: '429', since: T - 61_000, until: T - 1_000, consecutiveRateLimits: 1 });
const probation = state({ status: 'probation', reason: 'recovering', since: T - 10_000, until: T + 50_000, probationSuccesses: 1 });
const disabled = state({ status: 'disabled', reason: 'disabled by operator', since: T - 5_000 });

type Row = [name: string, from: KeyState, event: KeyEvent, expected: Partial<KeyState> | 'unchanged'];

const rows: Row[] = [
  // successes
  [
    'active + success counts and resets streaks',
    state({ consecutiveFailures: 2, consecutiveRateLimits: 1 }),
    ok,
    { status: 'active', successes: 1, consecutiveFailures: 0, consecutiveRateLimits: 0, lastLatencyMs: 42, lastSuccessAt: T },
  ],
  ['probation + success below K stays on probation', probation, ok, { status: 'probation', probationSuccesses: 2 }],
  ['probation + K-th success becomes active', state({ ...probation, probationSuccesses: 2 }), ok, { status: 'active', reason: '', since: T, until: null }],
  ['probation past its time + success becomes active', state({ ...probation, until: T - 1 }), ok, { status: 'active' }],
  ['cooling + late success keeps the cooldown', coolingAhead, ok, { status: 'cooling', until: T + 59_000, successes: 1, consecutiveRateLimits: 1 }],
  ['cooling lapsed + success becomes active', coolingLapsed, ok, { status: 'active', consecutiveRateLimits: 0 }],
  ['dead + late success stays dead', dead, ok, { status: 'dead', until: T + 10_000, successes: 1 }],

  // never the key's fault
  ['client failure changes nothing', state(), { type: 'failure', cls: 'client', reason: '400' }, 'unchanged'],
  ['edge failure changes nothing', state(), { type: 'failure', cls: 'edge', reason: '403 edge block' }, 'unchanged'],
  [
    'unpunished failure only counts',
    state(),
    { ...rate, punish: false },
    { status: 'active', failures: 1, consecutiveFailures: 1, lastError: '429 rate_limit_exceeded', consecutiveRateLimits: 0 },
  ],

  // auth
  ['active + auth is dead until the next probe', state(), auth, { status: 'dead', reason: '401 unauthenticated', since: T, until: T + 600_000, failures: 1 }],
  ['probation + auth is dead again', probation, auth, { status: 'dead', until: T + 600_000 }],
  ['dead + auth keeps its since and probe time', dead, auth, { status: 'dead', since: T - 50_000, until: T + 10_000, failures: 1 }],
  ['disabled + auth stays disabled', disabled, auth, { status: 'disabled', failures: 1 }],

  // rate limits
  ['active + 429 cools for the base', state(), rate, { status: 'cooling', reason: '429 rate_limit_exceeded', since: T, until: T + 60_000, consecutiveRateLimits: 1 }],
  ['third 429 in a row cools for base × 4', state({ consecutiveRateLimits: 2 }), rate, { until: T + 240_000, consecutiveRateLimits: 3 }],
  ['cooldown is capped', state({ consecutiveRateLimits: 12 }), rate, { until: T + 900_000 }],
  ['Retry-After wins, never shortened by jitter', state(), rateAfter(30), { status: 'cooling', until: T + 31_500 }],
  ['huge Retry-After is capped', state(), rateAfter(86_400), { until: T + 945_000 }],
  ['429s of calls already in flight do not escalate', coolingAhead, rate, { status: 'cooling', until: T + 59_000, consecutiveRateLimits: 1, failures: 1 }],
  ['but a longer Retry-After extends the cooldown', coolingAhead, rateAfter(120), { until: T + 126_000, consecutiveRateLimits: 1 }],
  ['429 after the cooldown ended doubles it', coolingLapsed, rate, { status: 'cooling', since: T - 61_000, until: T + 120_000, consecutiveRateLimits: 2 }],
  ['dead + 429 stays dead', dead, rate, { status: 'dead', until: T + 10_000 }],

  // transient, judged over the window
  ['one transient failure does not cool', state(), transient, { status: 'active', consecutiveFailures: 1, recent: outcomes(T, false) }],
  ['3 failures of 4 recent degrade the key', state({ recent: outcomes(T - 1_000, true, false, false) }), transient, { status: 'degraded', reason: '502', until: T + 15_000 }],
  [
    '3 failures of 10 recent do not',
    state({ recent: [...outcomes(T - 1_000, true, true, true, true, true, true, true), ...outcomes(T - 500, false, false)] }),
    transient,
    { status: 'active' },
  ],
  ['failures older than the window do not count', state({ recent: outcomes(T - 61_000, false, false, false) }), transient, { status: 'active' }],
  ['degraded + failure before until changes only counters', state({ status: 'degraded', until: T + 5_000 }), transient, { status: 'degraded', until: T + 5_000, failures: 1 }],

  // probes
  [
    'dead + probe ok goes on probation',
    dead,
    probeOk,
    { status: 'probation', reason: 'recovering after 401 unauthenticated', since: T, until: T + 60_000, probationSuccesses: 0, lastLatencyMs: 7 },
  ],
  ['cooling + probe ok goes on probation', coolingAhead, probeOk, { status: 'probation', consecutiveRateLimits: 0 }],
  ['active + probe ok stays active', state(), probeOk, { status: 'active', lastLatencyMs: 7, successes: 0 }],
  ['disabled + probe ok stays disabled', disabled, probeOk, { status: 'disabled' }],
  ['dead + probe auth waits the full interval again', dead, probeFail('auth', '402'), { status: 'dead', reason: '402', since: T - 50_000, until: T + 600_000 }],
  ['dead + probe 429 learned nothing: asks again sooner', dead, probeFail('rate'), { status: 'dead', until: T + 60_000, lastError: 'x' }],
  ['dead + probe outage asks again after the transient cooldown', dead, probeFail('transient'), { status: 'dead', until: T + 15_000 }],
  ['dead + probe client error keeps the regular schedule', dead, probeFail('client'), { status: 'dead', until: T + 600_000 }],
  ['active + probe 429 cools, never kills', state(), probeFail('rate'), { status: 'cooling', until: T + 60_000 }],
  ['active + probe auth kills', state(), probeFail('auth'), { status: 'dead' }],

  // operator
  ['disable from any state', dead, { type: 'operatorDisable' }, { status: 'disabled', reason: 'disabled by operator', since: T, until: null }],
  ['disable twice is a no-op', disabled, { type: 'operatorDisable' }, 'unchanged'],
  ['enable puts it on probation', disabled, { type: 'operatorEnable' }, { status: 'probation', reason: 'enabled by operator', until: T + 60_000 }],
  ['enable an active key is a no-op', state(), { type: 'operatorEnable' }, 'unchanged'],
  ['disabled ignores ticks', disabled, { type: 'tick' }, 'unchanged'],

  // the upstream circuit takes the blame
  ['forgive ends a cooldown and its streak', coolingAhead, { type: 'forgive' }, { status: 'active', until: null, consecutiveRateLimits: 0 }],
  ['forgive leaves a dead key dead', dead, { type: 'forgive' }, 'unchanged'],

  // time
  ['tick ends a lapsed cooldown but keeps the streak', coolingLapsed, { type: 'tick' }, { status: 'active', since: T, consecutiveRateLimits: 1 }],
  ['tick before until changes nothing', coolingAhead, { type: 'tick' }, 'unchanged'],
  ['tick ends probation after its time', state({ ...probation, until: T }), { type: 'tick' }, { status: 'active' }],
  ['tick never revives the dead', state({ ...dead, until: T - 1 }), { type: 'tick' }, 'unchanged'],
];

describe('key state transitions', () => {
  it.each(rows)('%s', (_name, from, event, expected) => {
    const next = transition(from, event, ctx(T));
    if (expected === 'unchanged') expect(next).toBe(from);
    else expect(next).toMatchObject(expected);
  });
});

describe('isUsable', () => {
  it.each([
    [state(), true],
    [probation, true],
    [coolingAhead, false],
    [coolingLapsed, true],
    [state({ status: 'degraded', until: T }), true],
    [dead, false],
    [state({ ...dead, until: T - 1 }), false],
    [disabled, false],
  ])('%#', (s, usable) => expect(isUsable(s, T)).toBe(usable));
});

describe('rateCooldownMs jitter', () => {
  it('stays within ±10% of the base and never shortens Retry-After', () => {
    const at = (r: number) => ({ now: T, random: () => r, settings });
    expect(rateCooldownMs(1, undefined, at(0))).toBe(54_000);
    expect(rateCooldownMs(1, undefined, at(0.999999))).toBeCloseTo(66_000, -1);
    expect(rateCooldownMs(1, 10, at(0))).toBe(10_000);
    expect(rateCooldownMs(1, 10, at(0.999999))).toBeCloseTo(11_000, -1);
  });
});

describe('copyOf', () => {
  it('copies every field of a state, so a field added to KeyState cannot be lost on the success path', () => {
    const s: KeyState = {
      ...initialKeyState(1),
      status: 'cooling',
      reason: '429',
      until: 5,
      successes: 2,
      failures: 3,
      consecutiveFailures: 1,
      consecutiveRateLimits: 1,
      probationSuccesses: 1,
      lastLatencyMs: 12,
      lastError: 'x',
      lastSuccessAt: 3,
      recent: [{ at: 1, ok: true }],
    };
    const copy = copyOf(s);
    expect(copy).toEqual(s);
    expect(Object.keys(copy).sort()).toEqual(Object.keys(s).sort());
    expect(copy).not.toBe(s);
  });
});
