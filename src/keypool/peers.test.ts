/** The transient-failure window judged with other replicas' outcomes (ctx.peers): the rows of key-state.ts. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_KEY_STATE_SETTINGS, initialKeyState, transition, type KeyEvent, type KeyState, type PeerCounts } from './key-state.js';

const settings = { ...DEFAULT_KEY_STATE_SETTINGS, jitter: 0 };
const T = 1_000_000;
const ctx = (peers?: PeerCounts) => ({ now: T, random: () => 0.5, settings, peers });
const fresh = (over: Partial<KeyState> = {}): KeyState => ({ ...initialKeyState(T - 30_000), ...over });
const transient: KeyEvent = { type: 'failure', cls: 'transient', reason: '502' };
const peerNews: KeyEvent = { type: 'peerOutcomes' };

describe('key state with other replicas’ outcomes', () => {
  it('one local 5xx plus two on other replicas trips the window, as three on one replica would', () => {
    expect(transition(fresh(), transient, ctx()).status).toBe('active');
    const s = transition(fresh(), transient, ctx({ ok: 0, failed: 2 }));
    expect(s.status).toBe('degraded');
    expect(s.until).toBe(T + settings.transientCooldownMs);
  });

  it('successes elsewhere count too: a key failing a minority of the cluster’s calls stays active', () => {
    expect(transition(fresh(), transient, ctx({ ok: 5, failed: 2 })).status).toBe('active');
  });

  it('news from other replicas alone re-judges the window (no local call needed)', () => {
    const oneLocal = transition(fresh(), transient, ctx());
    expect(transition(oneLocal, peerNews, ctx({ ok: 0, failed: 1 }))).toBe(oneLocal);
    const s = transition(oneLocal, peerNews, ctx({ ok: 0, failed: 2 }));
    expect(s.status).toBe('degraded');
    expect(s.reason).toBe('transient failures on 3 recent calls across replicas');
    expect(s.failures).toBe(oneLocal.failures); // nothing counted twice locally
  });

  it('peer news never touches a dead, disabled or still cooling key, and without counts changes nothing', () => {
    for (const status of ['dead', 'disabled'] as const) {
      const s = fresh({ status, until: null });
      expect(transition(s, peerNews, ctx({ ok: 0, failed: 9 }))).toBe(s);
    }
    const cooling = fresh({ status: 'cooling', until: T + 5_000 });
    expect(transition(cooling, peerNews, ctx({ ok: 0, failed: 9 }))).toBe(cooling);
    expect(transition(fresh(), peerNews, ctx())).toEqual(fresh());
  });
});
