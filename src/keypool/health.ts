/**
 * Recovery and health checks: the only way a dead key comes back is a real upstream call that succeeds
 * (a gateway that never re-tests a disabled key keeps it out forever, however healthy it is again).
 *
 *  - Dead keys are probed when their `until` passes (every BAD_KEY_RETRY_INTERVAL; sooner after a probe that hit a
 *    rate limit or an outage and so learned nothing). One timer is armed for the earliest due key.
 *  - Cooling and degraded keys are NOT probed: they re-enter through acquire() once their cooldown ends. A probe
 *    would spend the very rate budget that just ran out, and the next real call is as good a test.
 *  - Every HEALTH_CHECK_INTERVAL seconds (0 = off) the other keys that saw no successful call in that interval
 *    are probed, so a key that dies while idle is found before a client needs it.
 *  - At most HEALTH_CHECK_CONCURRENCY probes run at once; each is aborted after probeTimeoutMs and then counts as
 *    a timeout.
 */
import type { CallOutcome } from './types.js';
import { systemClock, type Clock } from './clock.js';
import type { KeyState } from './key-state.js';
import type { KeyPoolChange } from './pool.js';

/** What the scheduler needs of the pool (KeyPool provides it). */
export interface HealthTarget {
  keyStates(): Iterable<{ fingerprint: string; state: KeyState; inFlight: number }>;
  probeKey(fingerprint: string, signal: AbortSignal): Promise<CallOutcome | undefined>;
  onChange(listener: (change: KeyPoolChange) => void): () => void;
}

export interface HealthCheckOptions {
  pool: HealthTarget;
  /** HEALTH_CHECK_INTERVAL in seconds; 0 turns the periodic check off (dead keys are still re-probed) */
  intervalSec: number;
  /** HEALTH_CHECK_CONCURRENCY */
  concurrency: number;
  probeTimeoutMs?: number | undefined;
  /** with the periodic check on, also run one right at start (default true): dead configured keys show up before the first call */
  checkAtStart?: boolean | undefined;
  clock?: Clock | undefined;
  onError?: ((err: unknown, context: string) => void) | undefined;
}

/** Even with no dead key due, look again this often: cheap, and immune to a missed change event or a clock jump. */
const MAX_SWEEP_GAP_MS = 60_000;

export class HealthChecker {
  private readonly clock: Clock;
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly running = new Map<string, { ctl: AbortController; done: Promise<void> }>();
  private sweepTimer: unknown;
  private sweepAt = Infinity;
  private fullTimer: unknown;
  private unsubscribe: (() => void) | undefined;
  private started = false;

  constructor(private readonly opts: HealthCheckOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  start(): this {
    if (this.started) return this;
    this.started = true;
    this.unsubscribe = this.opts.pool.onChange((change) => this.onPoolChange(change));
    this.sweep();
    if (this.opts.intervalSec > 0 && (this.opts.checkAtStart ?? true)) this.checkAll();
    this.armFull();
    return this;
  }

  /** Clears every timer and aborts running probes; resolves when they have finished. */
  async stop(): Promise<void> {
    this.started = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.clearSweep();
    if (this.fullTimer !== undefined) this.clock.clearTimeout(this.fullTimer);
    this.fullTimer = undefined;
    this.queue.length = 0;
    this.queued.clear();
    const running = [...this.running.values()];
    for (const r of running) r.ctl.abort(new Error('health checks stopped'));
    await Promise.all(running.map((r) => r.done));
  }

  /** Queues a probe of every live key that has not proved itself recently. */
  checkAll(): void {
    const now = this.clock.now();
    const freshSince = now - this.opts.intervalSec * 1000;
    for (const k of this.opts.pool.keyStates()) {
      const s = k.state;
      if (s.status === 'disabled' || s.status === 'dead') continue;
      if ((s.status === 'cooling' || s.status === 'degraded') && s.until !== null && s.until > now) continue;
      if (k.inFlight > 0 || (s.lastSuccessAt !== null && s.lastSuccessAt > freshSince)) continue;
      this.enqueue(k.fingerprint);
    }
    this.pump();
  }

  /** How many probes are running now (for tests and metrics). */
  activeProbes(): number {
    return this.running.size;
  }

  private sweep(): void {
    const now = this.clock.now();
    let earliest = Infinity;
    for (const k of this.opts.pool.keyStates()) {
      if (k.state.status !== 'dead' || k.state.until === null) continue;
      if (k.state.until <= now) this.enqueue(k.fingerprint);
      else earliest = Math.min(earliest, k.state.until);
    }
    this.pump();
    this.clearSweep();
    this.armSweep(earliest);
  }

  private armSweep(dueAt: number): void {
    if (!this.started) return;
    const at = Math.min(dueAt, this.clock.now() + MAX_SWEEP_GAP_MS);
    if (this.sweepTimer !== undefined && this.sweepAt <= at) return;
    this.clearSweep();
    this.sweepAt = at;
    this.sweepTimer = this.clock.setTimeout(
      () => {
        this.sweepTimer = undefined;
        this.sweepAt = Infinity;
        this.sweep();
      },
      Math.max(0, at - this.clock.now()),
    );
  }

  private clearSweep(): void {
    if (this.sweepTimer !== undefined) this.clock.clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    this.sweepAt = Infinity;
  }

  private armFull(): void {
    if (!this.started || this.opts.intervalSec <= 0) return;
    this.fullTimer = this.clock.setTimeout(() => {
      this.fullTimer = undefined;
      this.checkAll();
      this.armFull();
    }, this.opts.intervalSec * 1000);
  }

  /** A key that just died (or whose next probe moved earlier) may be due before the armed sweep. */
  private onPoolChange(change: KeyPoolChange): void {
    if (change.type !== 'state' && change.type !== 'added') return;
    const k = change.key;
    if (k.state !== 'dead' || k.until === null) return;
    this.armSweep(Date.parse(k.until));
  }

  private enqueue(fp: string): void {
    if (this.queued.has(fp) || this.running.has(fp)) return;
    this.queued.add(fp);
    this.queue.push(fp);
  }

  private pump(): void {
    const limit = Math.max(1, this.opts.concurrency);
    while (this.started && this.running.size < limit && this.queue.length > 0) {
      const fp = this.queue.shift() as string;
      this.queued.delete(fp);
      this.run(fp);
    }
  }

  private run(fp: string): void {
    const ctl = new AbortController();
    const timer = this.clock.setTimeout(() => ctl.abort(new DOMException('probe timed out', 'TimeoutError')), this.opts.probeTimeoutMs ?? 30_000);
    const done = this.opts.pool
      .probeKey(fp, ctl.signal)
      .then(
        () => undefined,
        (err: unknown) => (this.opts.onError ?? defaultOnError)(err, `probing ${fp} failed`),
      )
      .finally(() => {
        this.clock.clearTimeout(timer);
        this.running.delete(fp);
        this.pump();
      });
    this.running.set(fp, { ctl, done });
  }
}

export function startHealthChecks(opts: HealthCheckOptions): HealthChecker {
  return new HealthChecker(opts).start();
}

function defaultOnError(err: unknown, context: string): void {
  console.error(`health checks: ${context}:`, err);
}
