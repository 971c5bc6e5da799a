/**
 * Gives memory back after a burst of traffic. V8 collects its old generation when that fills up, or when its memory
 * reducer decides the process is idle; after a burst that took about a minute here (2000 concurrent streams left
 * 130 MB of heap in use and 256 MB resident for 55 s, then 25 MB and 127 MB: docs/performance.md, "Memory").
 * So once the gateway has had nothing in flight for IDLE_GC_SEC, and the heap V8 holds outside its young generation
 * has grown by more than `minGrowth` since the last collection, it runs one full collection, after which V8 returns
 * the emptied pages to the system. Held, not used: V8 may already have collected part of a burst by itself and kept
 * the pages (measured: 44 MB in use in 119 MB of heap, 194 MB resident, and no collection while this looked at the
 * heap in use). The threshold (32 MiB) keeps it to real bursts: the collection itself takes milliseconds, but the
 * first burst after it finds V8's heap small again and pays for growing it (100 concurrent streams after a quiet
 * spell: TTFT p99 300 ms instead of ~50 ms when this ran after ordinary traffic with a 4 MiB threshold; V8's own
 * memory reducer, when it runs, has the same effect). Ordinary traffic grows the young generation (excluded here:
 * the follow-up below deals with it) and the old one by ~10 MB, which V8's reducer returns by itself.
 * A completion that starts meanwhile postpones it (a request never waits behind this collection unless it arrives
 * during the few tens of milliseconds it takes). One timer, armed only while idle; the request path only stamps a
 * time when the last completion leaves.
 *
 * The young generation (32 MB after any load) is shrunk by V8 at a collection only when the allocation rate it
 * measured over its last 5 s of samples is low. Right after a burst that window still holds the burst's tail, so
 * V8 often keeps it; a follow-up collection FOLLOW_UP_MS later, with nothing started in between, sees only quiet
 * time and shrinks it (measured: 3 of 3 bursts kept 32 MB with a follow-up 1 s later, 128 MB resident; 1 MB and
 * 95 MB with it 6 s later).
 *
 * The collection is V8's own `gc()`, which `node --expose-gc` would expose: the flag is set at runtime and the
 * function taken from a fresh context (it collects the whole isolate), with compaction of every page switched on
 * for that one collection only.
 */
import { getHeapSpaceStatistics, getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface IdleGcOptions {
  /** quiet time before collecting, ms (> 0) */
  idleMs: number;
  /** completions in flight now */
  inFlight: () => number;
  /** heap V8 holds outside its young generation, bytes (default: heldHeapBytes) */
  heapHeld?: () => number;
  /** run a full collection */
  gc?: () => void;
  /** a second collection this long after the first, if still quiet (default FOLLOW_UP_MS; 0 = none) */
  followUpMs?: number;
  /** SETTLE_MS before a collection: drop what only a burst needed (the upstream client's connection Pool) */
  beforeCollect?: () => Promise<void> | void;
  /** collect only when the heap grew by more than this since the last collection (default 32 MiB) */
  minGrowthBytes?: number;
  now?: () => number;
  /** after each collection: heap held before and after (bytes), and how long it took (ms) */
  onCollect?: (beforeBytes: number, afterBytes: number, ms: number) => void;
  setTimer?: (fn: () => void, ms: number) => { unref?: () => unknown };
  clearTimer?: (t: unknown) => void;
}

let exposedGc: (() => void) | undefined;

/** V8's gc(), exposed once per process. */
export function v8Gc(): () => void {
  if (exposedGc === undefined) {
    setFlagsFromString('--expose-gc');
    // called without options: a full, synchronous mark-compact (in Node 20's V8 an options object makes it a
    // lighter collection that frees little). Compacting every page for this one collection is what gives the
    // pages back: without it the survivors of a burst stay spread over most of them (measured: 2000 streams left
    // 96 MB of heap pages for 37 MB of live objects).
    const gc = runInNewContext('gc') as () => void;
    exposedGc = () => {
      setFlagsFromString('--compact-on-every-full-gc');
      try {
        gc();
      } finally {
        setFlagsFromString('--no-compact-on-every-full-gc');
      }
    };
  }
  return exposedGc;
}

/** from beforeCollect to the collection */
export const SETTLE_MS = 6000;

/** from a collection to its follow-up: longer than the 5 s of allocation samples V8 judges the rate from */
export const FOLLOW_UP_MS = 6000;

/** The heap V8 has committed outside its young generation, bytes: what a burst leaves behind. */
export function heldHeapBytes(): number {
  const young = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
  return getHeapStatistics().total_heap_size - young;
}

export class IdleGc {
  private lastIdleAt = 0;
  /** the idle moment beforeCollect last ran for */
  private preparedAt = -1;
  /** the armed timer is the follow-up of the collection made at collectedAt */
  private followUp = false;
  private collectedAt = 0;
  private timer: unknown;
  private baseline: number;
  private collections = 0;
  private stopped = false;
  private readonly heapHeld: () => number;
  private readonly now: () => number;
  private readonly minGrowth: number;

  constructor(private readonly opts: IdleGcOptions) {
    if (!(opts.idleMs > 0)) throw new RangeError(`idleMs must be positive, got ${opts.idleMs}`);
    this.heapHeld = opts.heapHeld ?? heldHeapBytes;
    this.now = opts.now ?? (() => performance.now());
    this.minGrowth = opts.minGrowthBytes ?? 32 * 1024 * 1024;
    this.baseline = this.heapHeld();
  }

  /** full collections run so far */
  get count(): number {
    return this.collections;
  }

  /** The last completion in flight has just left. */
  idle(): void {
    if (this.stopped) return;
    this.lastIdleAt = this.now();
    if (this.timer === undefined) this.arm(this.opts.idleMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) (this.opts.clearTimer ?? ((t) => clearTimeout(t as NodeJS.Timeout)))(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    const set = this.opts.setTimer ?? ((fn, delay) => setTimeout(fn, delay));
    const t = set(() => this.fire(), ms);
    t.unref?.();
    this.timer = t;
  }

  private fire(): void {
    this.timer = undefined;
    if (this.followUp) {
      this.followUp = false;
      // nothing started since the collection: one more, which lets V8 shrink its young generation
      if (!this.stopped && this.opts.inFlight() === 0 && this.lastIdleAt <= this.collectedAt) this.gc();
    }
    if (this.stopped || this.opts.inFlight() > 0) return; // busy again: the next idle() re-arms
    const quietFor = this.now() - this.lastIdleAt;
    if (quietFor < this.opts.idleMs) return this.arm(this.opts.idleMs - quietFor);
    if (this.heapHeld() - this.baseline <= this.minGrowth) return;
    if (this.opts.beforeCollect !== undefined && this.preparedAt !== this.lastIdleAt) {
      this.preparedAt = this.lastIdleAt;
      Promise.resolve(this.opts.beforeCollect()).catch(() => undefined);
      // collect a little later: what beforeCollect let go of (and what closing it allocated) is garbage by then
      return this.arm(SETTLE_MS);
    }
    this.collect();
  }

  private gc(): void {
    (this.opts.gc ?? v8Gc())();
  }

  private collect(): void {
    const before = this.heapHeld();
    const started = this.now();
    this.gc();
    this.collections++;
    this.baseline = this.heapHeld();
    this.collectedAt = this.now();
    this.opts.onCollect?.(before, this.baseline, this.collectedAt - started);
    const followUpMs = this.opts.followUpMs ?? FOLLOW_UP_MS;
    if (followUpMs > 0 && this.timer === undefined) {
      this.followUp = true;
      this.arm(followUpMs);
    }
  }
}
