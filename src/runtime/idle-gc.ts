/** A full collection once the gateway has been idle after a burst, and a follow-up; why, and the measurement: docs/performance.md, "Runtime tuning". */
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
