import { describe, expect, it } from 'vitest';
import { UpstreamCircuit, type CircuitSettings, type CircuitSignal } from './circuit.js';

const settings: CircuitSettings = { windowMs: 10_000, halfLifeMs: 2_000, minKeys: 3, ratio: 0.8, baseHoldMs: 5_000, maxHoldMs: 60_000, trialTimeoutMs: 30_000 };

type Step =
  | { at: number; record: [fp: string, signal: CircuitSignal]; trial?: boolean; retryAfterSec?: number; expect?: { suppress?: boolean; forgive?: string[] } }
  | { at: number; admit: 'allow' | 'trial' | 'deny'; retryAfterMs?: number; begin?: boolean }
  | { at: number; phase: 'closed' | 'open' | 'half_open' }
  | { at: number; serving: [fp: string, serving: boolean] }
  | { at: number; called: string };

/** `count` outcomes of one key, `everyMs` apart from `fromMs`. */
function calls(fp: string, signal: CircuitSignal, fromMs: number, everyMs: number, count: number): Step[] {
  return Array.from({ length: count }, (_, i) => ({ at: fromMs + i * everyMs, record: [fp, signal] }));
}

/** Several keys' calls as they would arrive: in time order. */
function interleaved(...groups: Step[][]): Step[] {
  return groups.flat().sort((a, b) => a.at - b.at);
}

const scenarios: [name: string, steps: Step[]][] = [
  [
    'as a pool starts, the first calls to end are fast failures: keys whose calls are still out count as called, so it stays closed',
    [
      ...['a1', 'a2', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8'].map((fp, i): Step => ({ at: i, called: fp })),
      { at: 20, record: ['f1', 'transient'], expect: { suppress: false, forgive: [] } },
      { at: 21, record: ['f2', 'transient'] },
      { at: 22, record: ['f3', 'transient'], expect: { suppress: false, forgive: [] } },
      { at: 23, phase: 'closed' },
      { at: 23, admit: 'allow' },
    ],
  ],
  [
    'a key called but not yet answered neither serves nor fails: once most of the keys called fail, it trips and the answered ones serve',
    [
      ...['a1', 'a2', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8'].map((fp, i): Step => ({ at: i, called: fp })),
      { at: 10, serving: ['a1', false] },
      ...['f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7'].map((fp, i): Step => ({ at: 20 + i, record: [fp, 'transient'] })),
      { at: 30, record: ['a1', 'ok'] },
      { at: 31, record: ['a2', 'ok'] },
      { at: 40, phase: 'closed' },
      { at: 41, record: ['f8', 'transient'], expect: { suppress: true, forgive: ['f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8'] } },
      { at: 42, phase: 'open' },
      { at: 42, serving: ['a1', true] },
      { at: 42, serving: ['a2', true] },
    ],
  ],
  [
    'the same three fast failures with nothing else called do trip it (three keys are all there is to judge)',
    [
      { at: 20, record: ['f1', 'transient'] },
      { at: 21, record: ['f2', 'transient'] },
      { at: 22, record: ['f3', 'transient'], expect: { suppress: true, forgive: ['f1', 'f2', 'f3'] } },
      { at: 23, phase: 'open' },
    ],
  ],
  [
    'a late timeout on a key that served hundreds of calls does not make it failing (6 failing of 8 stays closed)',
    [
      ...interleaved(
        calls('good1', 'ok', 0, 20, 495),
        calls('good2', 'ok', 10, 20, 495),
        ...['bad1', 'bad2', 'bad3', 'bad4', 'bad5', 'bad6'].map((fp, i) => calls(fp, 'transient', i * 30, 200, 49)),
      ),
      { at: 9_900, record: ['good1', 'transient'], expect: { suppress: false, forgive: [] } },
      { at: 9_901, phase: 'closed' },
      { at: 9_902, admit: 'allow' },
    ],
  ],
  [
    'an outage: keys that answered until it began turn failing within a few of their failed calls, and it trips',
    interleaved(...['a', 'b', 'c', 'd'].map((fp, i) => [...calls(fp, 'ok', i * 10, 100, 50), ...calls(fp, 'transient', 5_000 + i * 10, 50, 60)]), [
      { at: 5_300, phase: 'closed' },
      { at: 7_000, phase: 'open' },
    ]),
  ],
  [
    'while it is open the keys still answering serve; failing keys and keys not called lately are held',
    [
      ...interleaved(calls('good', 'ok', 0, 50, 40), ...['f1', 'f2', 'f3'].map((fp, i) => calls(fp, 'transient', 1_000 + i * 100, 500, 2))),
      { at: 1_901, record: ['f4', 'transient'], expect: { suppress: true, forgive: ['f1', 'f2', 'f3', 'f4'] } },
      { at: 1_902, phase: 'open' },
      { at: 1_902, admit: 'deny', retryAfterMs: 4_999 },
      { at: 1_902, serving: ['good', true] },
      { at: 1_902, serving: ['f1', false] },
      { at: 1_902, serving: ['never-called', false] },
      // a late timeout on the good key is suppressed and changes nothing
      { at: 2_000, record: ['good', 'transient'], expect: { suppress: true, forgive: [] } },
      { at: 2_001, serving: ['good', true] },
      // not called for the whole window: nothing is known of it any more
      { at: 12_001, serving: ['good', false] },
    ],
  ],
  [
    'a key that was serving and then fails most of its calls is held',
    [
      // ten answered calls outweigh the seven failures after them, not an eighth (the newer weigh more)
      ...calls('a', 'ok', 0, 100, 10),
      ...calls('a', 'transient', 1_000, 100, 7),
      { at: 1_601, serving: ['a', true] },
      { at: 1_700, record: ['a', 'transient'] },
      { at: 1_701, serving: ['a', false] },
    ],
  ],
  [
    'closing keeps the record of the keys that served, drops the failures',
    [
      ...calls('good', 'ok', 0, 100, 10),
      { at: 1_000, record: ['a', 'transient'] },
      { at: 1_001, record: ['b', 'transient'] },
      { at: 1_002, record: ['c', 'transient'] },
      { at: 1_003, record: ['d', 'transient'] },
      { at: 1_004, phase: 'open' },
      { at: 6_004, admit: 'trial', begin: true },
      { at: 6_100, record: ['a', 'ok'], trial: true },
      { at: 6_101, phase: 'closed' },
      { at: 6_101, serving: ['good', true] },
      { at: 6_101, serving: ['a', true] },
      // b, c and d were forgotten: two new failures are two of four keys
      { at: 6_200, record: ['b', 'transient'] },
      { at: 6_201, record: ['c', 'transient'], expect: { suppress: false } },
    ],
  ],
  [
    'two failing keys never trip it (too few to blame the upstream)',
    [
      { at: 0, record: ['a', 'rate'], expect: { suppress: false } },
      { at: 1, record: ['b', 'rate'], expect: { suppress: false } },
      { at: 2, phase: 'closed' },
    ],
  ],
  [
    'three of three keys rate-limited trip it and are forgiven',
    [
      { at: 0, record: ['a', 'rate'] },
      { at: 1, record: ['b', 'rate'] },
      { at: 2, record: ['c', 'rate'], expect: { suppress: true, forgive: ['a', 'b', 'c'] } },
      { at: 3, phase: 'open' },
      { at: 3, admit: 'deny', retryAfterMs: 4_999 },
    ],
  ],
  [
    '3 failing of 4 tried (75%) is below the ratio',
    [
      { at: 0, record: ['ok', 'ok'] },
      { at: 1, record: ['a', 'transient'] },
      { at: 2, record: ['b', 'transient'] },
      { at: 3, record: ['c', 'transient'], expect: { suppress: false, forgive: [] } },
      { at: 4, phase: 'closed' },
    ],
  ],
  [
    '4 of 5 (80%) trips it',
    [
      { at: 0, record: ['ok', 'ok'] },
      { at: 1, record: ['a', 'transient'] },
      { at: 2, record: ['b', 'transient'] },
      { at: 3, record: ['c', 'transient'] },
      { at: 4, record: ['d', 'transient'], expect: { suppress: true, forgive: ['a', 'b', 'c', 'd'] } },
    ],
  ],
  [
    'mixed classes do not add up',
    [
      { at: 0, record: ['a', 'rate'] },
      { at: 1, record: ['b', 'transient'] },
      { at: 2, record: ['c', 'rate'] },
      { at: 3, record: ['d', 'transient'] },
      { at: 4, phase: 'closed' },
    ],
  ],
  [
    'failures older than the window fall out',
    [
      { at: 0, record: ['a', 'rate'] },
      { at: 1, record: ['b', 'rate'] },
      { at: 10_500, record: ['c', 'rate'], expect: { suppress: false } },
      { at: 10_600, phase: 'closed' },
    ],
  ],
  [
    'a key that recovered counts as ok',
    [
      { at: 0, record: ['a', 'rate'] },
      { at: 1, record: ['a', 'ok'] },
      { at: 2, record: ['b', 'rate'] },
      { at: 3, record: ['c', 'rate'], expect: { suppress: false } },
    ],
  ],
  [
    'auth and ignored signals: tried-but-other, and nothing',
    [
      { at: 0, record: ['a', 'rate'] },
      { at: 1, record: ['b', 'rate'] },
      { at: 2, record: ['x', 'ignored'] },
      { at: 3, record: ['y', 'other'] },
      { at: 4, record: ['c', 'rate'], expect: { suppress: false } }, // 3 of 4 tried
      { at: 5, record: ['d', 'rate'], expect: { suppress: true } }, // 4 of 5
    ],
  ],
  [
    'Retry-After sets the hold; failures while open are suppressed',
    [
      { at: 0, record: ['a', 'rate'] },
      { at: 1, record: ['b', 'rate'] },
      { at: 2, record: ['c', 'rate'], retryAfterSec: 20 },
      { at: 100, admit: 'deny', retryAfterMs: 19_902 },
      { at: 200, record: ['d', 'transient'], expect: { suppress: true, forgive: [] } },
      { at: 300, record: ['e', 'ok'], expect: { suppress: false } },
      { at: 400, phase: 'open' },
    ],
  ],
  [
    'hold ends: one trial, others denied; trial success closes',
    [
      { at: 0, record: ['a', 'transient'] },
      { at: 1, record: ['b', 'transient'] },
      { at: 2, record: ['c', 'transient'] },
      { at: 5_002, admit: 'trial', begin: true },
      { at: 5_003, phase: 'half_open' },
      { at: 5_004, admit: 'deny', retryAfterMs: 1_000 },
      { at: 5_100, record: ['a', 'ok'], trial: true },
      { at: 5_101, phase: 'closed' },
      { at: 5_102, admit: 'allow' },
      // the old failures were cleared: one more does not re-trip it
      { at: 5_200, record: ['d', 'transient'], expect: { suppress: false } },
    ],
  ],
  [
    'trial failure reopens with a doubled hold',
    [
      { at: 0, record: ['a', 'rate'] },
      { at: 1, record: ['b', 'rate'] },
      { at: 2, record: ['c', 'rate'] },
      { at: 5_002, admit: 'trial', begin: true },
      { at: 5_100, record: ['a', 'rate'], trial: true, expect: { suppress: true } },
      { at: 5_101, phase: 'open' },
      { at: 5_101, admit: 'deny', retryAfterMs: 9_999 },
      { at: 15_100, admit: 'trial' },
    ],
  ],
  [
    'a trial that hits a key problem lets another trial go',
    [
      { at: 0, record: ['a', 'rate'] },
      { at: 1, record: ['b', 'rate'] },
      { at: 2, record: ['c', 'rate'] },
      { at: 5_002, admit: 'trial', begin: true },
      { at: 5_100, record: ['a', 'other'], trial: true, expect: { suppress: false } },
      { at: 5_101, admit: 'trial' },
    ],
  ],
  [
    'a trial that never reports back stops blocking',
    [
      { at: 0, record: ['a', 'rate'] },
      { at: 1, record: ['b', 'rate'] },
      { at: 2, record: ['c', 'rate'] },
      { at: 5_002, admit: 'trial', begin: true },
      { at: 20_000, admit: 'deny' },
      { at: 35_002, admit: 'trial' },
    ],
  ],
];

describe('upstream circuit', () => {
  it.each(scenarios)('%s', (_name, steps) => {
    const c = new UpstreamCircuit(settings);
    for (const step of steps) {
      if ('record' in step) {
        const r = c.record(step.record[0], step.record[1], step.at, { trial: step.trial ?? false, retryAfterSec: step.retryAfterSec });
        if (step.expect?.suppress !== undefined) expect(r.suppress).toBe(step.expect.suppress);
        if (step.expect?.forgive !== undefined) expect([...r.forgive].sort()).toEqual(step.expect.forgive);
      } else if ('admit' in step) {
        const a = c.admit(step.at);
        if (step.admit === 'deny') {
          expect(a.allow).toBe(false);
          if (step.retryAfterMs !== undefined && !a.allow) expect(a.retryAfterMs).toBe(step.retryAfterMs);
        } else {
          expect(a).toEqual({ allow: true, trial: step.admit === 'trial' });
        }
        if (step.begin === true) c.beginTrial(step.at);
      } else if ('serving' in step) {
        expect(c.serving(step.serving[0], step.at), `${step.serving[0]} at ${step.at}`).toBe(step.serving[1]);
      } else if ('called' in step) {
        c.called(step.called, step.at);
      } else {
        expect(c.info().phase, `at ${step.at}`).toBe(step.phase);
      }
    }
  });

  it('the hold grows and is capped', () => {
    const c = new UpstreamCircuit(settings);
    let now = 0;
    for (const fp of ['a', 'b', 'c']) c.record(fp, 'transient', now++);
    const holds: number[] = [];
    for (let i = 0; i < 6; i++) {
      const until = c.info().until ?? 0;
      holds.push(until - (now - 1));
      now = until;
      expect(c.admit(now)).toEqual({ allow: true, trial: true });
      c.beginTrial(now);
      c.record('a', 'transient', now++, { trial: true });
    }
    expect(holds).toEqual([5_000, 10_000, 20_000, 40_000, 60_000, 60_000]);
  });
});
