import { describe, expect, it } from 'vitest';
import { getHeapStatistics } from 'node:v8';
import { FOLLOW_UP_MS, heldHeapBytes, IdleGc, SETTLE_MS, v8Gc } from './idle-gc.js';

const MB = 1024 * 1024;

/** A fake clock and timer list: time moves only when the test says so. */
function setup(opts: { idleMs?: number; heap?: number; beforeCollect?: () => void; followUpMs?: number | null } = {}) {
  let now = 0;
  let heap = opts.heap ?? 20 * MB;
  let inFlight = 0;
  const timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  let gcs = 0;
  const idleGc = new IdleGc({
    idleMs: opts.idleMs ?? 5000,
    inFlight: () => inFlight,
    ...(opts.beforeCollect ? { beforeCollect: opts.beforeCollect } : {}),
    ...(opts.followUpMs === null ? {} : { followUpMs: opts.followUpMs ?? 0 }),
    heapHeld: () => heap,
    gc: () => {
      gcs++;
      heap = 22 * MB;
    },
    now: () => now,
    setTimer: (fn, ms) => {
      const t = { at: now + ms, fn, live: true };
      timers.push(t);
      return t as { unref?: () => unknown };
    },
    clearTimer: (t) => void ((t as { live: boolean }).live = false),
  });
  const advance = (ms: number): void => {
    const end = now + ms;
    for (;;) {
      const due = timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      now = due.at;
      due.live = false;
      due.fn();
    }
    now = end;
  };
  return {
    idleGc,
    advance,
    gcs: () => gcs,
    armed: () => timers.filter((t) => t.live).length,
    setHeap: (b: number) => void (heap = b),
    setInFlight: (n: number) => void (inFlight = n),
  };
}

describe('IdleGc', () => {
  it('collects once after the quiet time when the heap grew, and not again until it grows again', () => {
    const s = setup();
    s.setHeap(150 * MB);
    s.idleGc.idle();
    s.advance(4999);
    expect(s.gcs()).toBe(0);
    s.advance(1);
    expect(s.gcs()).toBe(1);
    s.idleGc.idle();
    s.advance(10_000);
    expect(s.gcs()).toBe(1); // heap back near where the collection left it
    s.setHeap(60 * MB);
    s.idleGc.idle();
    s.advance(5000);
    expect(s.gcs()).toBe(2);
  });

  it('with beforeCollect: runs it once per quiet spell, then collects SETTLE_MS later if still quiet', () => {
    let prepared = 0;
    const s = setup({ beforeCollect: () => void prepared++ });
    s.setHeap(150 * MB);
    s.idleGc.idle();
    s.advance(5000);
    expect([prepared, s.gcs()]).toEqual([1, 0]);
    s.advance(SETTLE_MS - 1);
    expect(s.gcs()).toBe(0);
    s.advance(1);
    expect([prepared, s.gcs()]).toEqual([1, 1]);

    // traffic during the settle time: the collection waits for a new quiet spell, which prepares again
    s.setHeap(150 * MB);
    s.idleGc.idle();
    s.advance(5000);
    expect(prepared).toBe(2);
    s.setInFlight(1);
    s.advance(SETTLE_MS);
    expect(s.gcs()).toBe(1);
    s.setInFlight(0);
    s.idleGc.idle();
    s.advance(5000 + SETTLE_MS);
    expect([prepared, s.gcs()]).toEqual([3, 2]);
  });

  it('with a follow-up: one more collection followUpMs after, only if nothing started in between', () => {
    const s = setup({ followUpMs: 1000 });
    s.setHeap(150 * MB);
    s.idleGc.idle();
    s.advance(5000);
    expect(s.gcs()).toBe(1);
    s.advance(999);
    expect(s.gcs()).toBe(1);
    s.advance(1);
    expect(s.gcs()).toBe(2);
    s.advance(60_000);
    expect([s.gcs(), s.armed()]).toEqual([2, 0]);

    // a request came and went before the follow-up: no follow-up, and the usual wait starts from its end
    s.setHeap(150 * MB);
    s.idleGc.idle();
    s.advance(5000);
    expect(s.gcs()).toBe(3);
    s.advance(500);
    s.idleGc.idle();
    s.advance(500);
    expect(s.gcs()).toBe(3);
    s.advance(60_000);
    expect([s.gcs(), s.armed()]).toEqual([3, 0]);
  });

  it("by default the follow-up comes after V8's 5 s allocation-rate window, so that window holds only quiet time", () => {
    expect(FOLLOW_UP_MS).toBeGreaterThan(5000);
    const s = setup({ followUpMs: null });
    s.setHeap(150 * MB);
    s.idleGc.idle();
    s.advance(5000);
    s.advance(FOLLOW_UP_MS - 1);
    expect(s.gcs()).toBe(1);
    s.advance(1);
    expect(s.gcs()).toBe(2);
  });

  it('does nothing when the heap did not grow (by more than 32 MiB)', () => {
    const s = setup();
    s.setHeap(50 * MB);
    s.idleGc.idle();
    s.advance(60_000);
    expect(s.gcs()).toBe(0);
    expect(s.armed()).toBe(0);
  });

  it('waits for the quiet time counted from the last idle moment, with one timer', () => {
    const s = setup();
    s.setHeap(150 * MB);
    s.idleGc.idle();
    s.advance(3000);
    s.idleGc.idle(); // traffic came and went
    expect(s.armed()).toBe(1);
    s.advance(2000);
    expect(s.gcs()).toBe(0);
    s.advance(3000);
    expect(s.gcs()).toBe(1);
  });

  it('never collects while a completion is in flight; the next idle moment re-arms', () => {
    const s = setup();
    s.setHeap(150 * MB);
    s.idleGc.idle();
    s.setInFlight(1);
    s.advance(20_000);
    expect(s.gcs()).toBe(0);
    expect(s.armed()).toBe(0);
    s.setInFlight(0);
    s.idleGc.idle();
    s.advance(5000);
    expect(s.gcs()).toBe(1);
  });

  it('stop() disarms it for good', () => {
    const s = setup();
    s.setHeap(150 * MB);
    s.idleGc.idle();
    s.idleGc.stop();
    s.idleGc.idle();
    s.advance(60_000);
    expect(s.gcs()).toBe(0);
  });

  it('rejects a quiet time that makes no sense', () => {
    expect(() => new IdleGc({ idleMs: 0, inFlight: () => 0 })).toThrow(RangeError);
  });

  it('measures the heap V8 holds outside its young generation', () => {
    const held = heldHeapBytes();
    const total = getHeapStatistics().total_heap_size;
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThan(total); // the young generation always has at least one page
  });

  it("V8's own gc() is reachable and frees garbage", () => {
    const gc = v8Gc();
    let junk: unknown[] | undefined = Array.from({ length: 200_000 }, (_, i) => ({ i, s: `x${i}` }));
    const before = process.memoryUsage().heapUsed;
    expect(junk.length).toBe(200_000);
    junk = undefined;
    gc();
    expect(process.memoryUsage().heapUsed).toBeLessThan(before - 4 * MB);
  });
});

describe('InFlight tells the idle collector when the last completion leaves', () => {
  it('calls onIdle once per quiet moment, not while others are still in flight', async () => {
    const { InFlight } = await import('../http/inflight.js');
    let idles = 0;
    const inflight = new InFlight(() => idles++);
    const a = inflight.enter(new AbortController());
    const b = inflight.enter(new AbortController());
    a.leave();
    expect(idles).toBe(0);
    b.leave();
    b.leave(); // leaving twice counts once
    expect(idles).toBe(1);
    inflight.enter(new AbortController()).leave();
    expect(idles).toBe(2);
  });
});
