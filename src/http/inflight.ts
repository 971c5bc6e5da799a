/**
 * Completions in flight, for a graceful shutdown. src/frontends/runner.ts enters every completion here and tells
 * when its stream has started; gateway.close() drains:
 *
 *   1. the gateway says it is shutting down: /readyz answers 503, new work is refused with 503 (limits.ts);
 *   2. completions in flight may finish, up to SHUTDOWN_GRACE_MS;
 *   3. those still running are stopped: a stream gets its front end's error chunk (then the end of the stream, no
 *      socket cut), a completion whose answer has not started gets a 503 error body; the upstream call is aborted;
 *   4. the server closes (sockets left over are cut after a short wait), then the caller flushes state.
 */
import type { FastifyInstance } from 'fastify';
import { type GatewayError, requestStopped } from '../core/errors.js';
import type { Aborter } from '../runtime/light-abort.js';
import { MemberList } from '../runtime/member-list.js';

export interface InFlightEntry {
  /** set once the completion was stopped: the error to show instead of whatever the abort caused */
  readonly reason: GatewayError | undefined;
  /** the answer's headers are out: stopping now must end the stream with `writeError`'s bytes */
  streaming(writeErrorAndEnd: (err: GatewayError) => void): void;
  leave(): void;
}

export class InFlight {
  private readonly entries = new MemberList<Entry>();
  private waiters: Array<() => void> = [];

  /** `onIdle`: called each time the last completion in flight leaves (src/runtime/idle-gc.ts) */
  constructor(private readonly onIdle?: () => void) {}

  /** completions in flight (streaming or not) */
  get size(): number {
    return this.entries.size;
  }

  /** streams whose answer has started */
  get streams(): number {
    let n = 0;
    for (const e of this.entries) if (e.isStreaming) n++;
    return n;
  }

  /** Track one completion; `abort` is the controller that cancels its upstream work. Leaves on `leave()`. */
  enter(abort: Aborter): InFlightEntry {
    const entry = new Entry(abort, () => {
      this.entries.delete(membership);
      if (this.entries.size === 0) this.wake();
    });
    const membership = this.entries.add(entry);
    return entry;
  }

  /** Resolves when nothing is in flight. */
  idle(): Promise<void> {
    if (this.entries.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Stop everything in flight with `err` (an error chunk for streams, an error body for the rest). */
  stopAll(err: GatewayError): number {
    const all = this.entries.values();
    for (const e of all) e.stop(err);
    return all.length;
  }

  private wake(): void {
    this.onIdle?.();
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

class Entry implements InFlightEntry {
  reason: GatewayError | undefined;
  private writeError: ((err: GatewayError) => void) | undefined;
  private left = false;

  constructor(
    private readonly abort: Aborter,
    private readonly onLeave: () => void,
  ) {}

  get isStreaming(): boolean {
    return this.writeError !== undefined;
  }

  streaming(writeErrorAndEnd: (err: GatewayError) => void): void {
    this.writeError = writeErrorAndEnd;
  }

  stop(err: GatewayError): void {
    if (this.reason !== undefined || this.left) return;
    this.reason = err;
    try {
      this.writeError?.(err);
    } finally {
      this.abort.abort(err);
    }
  }

  leave(): void {
    if (this.left) return;
    this.left = true;
    this.onLeave();
  }
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms).unref();
  });

/**
 * Steps 2-4 above (the caller has already started refusing new work). Resolves once the server is closed.
 * `afterStopMs`: how long stopped completions get to write their error before sockets are cut.
 */
export async function drainAndClose(app: FastifyInstance, inflight: InFlight, graceMs: number, afterStopMs = 1_000): Promise<void> {
  if (inflight.size > 0) {
    await Promise.race([inflight.idle(), sleep(graceMs)]);
    if (inflight.size > 0) {
      const stopped = inflight.stopAll(requestStopped());
      app.log.warn({ stopped, graceMs }, 'shutdown: grace period over, stopped the requests still in flight');
      await Promise.race([inflight.idle(), sleep(afterStopMs)]);
    }
  }
  const closing = app.close();
  // keep-alive sockets fastify leaves open (a response still being written) are cut after a short wait
  const cut = setTimeout(() => app.server.closeAllConnections(), afterStopMs);
  cut.unref();
  try {
    await closing;
  } finally {
    clearTimeout(cut);
  }
}
