/**
 * Pre-created OnDemand sessions, so a request pays for the query call only.
 *
 * Every upstream query needs a session, and creating one is a full round trip before the query can start. The
 * pool keeps, per upstream key, a few sessions created ahead of time. The rules that keep it safe:
 *   - a session is handed out once and then forgotten: two conversations never share one (docs/ondemand-protocol.md §7);
 *   - a session belongs to the key that created it and is only handed out for that key;
 *   - sessions expire after a TTL, unused, so a stale one is never sent a query;
 *   - refills run off the request path (after the request's own query has been sent), at most `concurrency` at a
 *     time over all keys, and a key whose refill failed is left alone for a growing pause (no timer: the next take
 *     after the pause tries again); the request path never waits for the pool: a take on an empty pool creates its
 *     session inline, as without one;
 *   - stop() aborts the refills in flight and starts no more.
 * A key is warmed after its first successful take (or by warm()), so keys nobody uses, or that refuse sessions,
 * cost nothing.
 */
import { performance } from 'node:perf_hooks';
import type { SessionSource, TraceHeaders } from '../core/ports.js';
import { LightAbortController } from '../runtime/light-abort.js';
import { MemberList } from '../runtime/member-list.js';

export interface SessionCreator {
  createSession(key: string, signal?: AbortSignal, trace?: TraceHeaders): Promise<string>;
}

export interface SessionPoolOptions {
  client: SessionCreator;
  /** sessions kept ready per key (>= 1) */
  size: number;
  /** a ready session older than this is dropped, never used */
  ttlMs: number;
  /** session creations in flight at once, over all keys (default 4) */
  concurrency?: number;
  /** first pause after a failed refill, doubled on each failure in a row up to maxBackoffMs (default 1000) */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** monotonic milliseconds (tests inject a fake clock) */
  now?: () => number;
  /** a refill failed (the key's own requests will show it again; this is for the log) */
  onError?: (err: unknown, fingerprint: string) => void;
}

interface ReadySession {
  id: string;
  createdAt: number;
}

interface KeySessions {
  key: string;
  fingerprint: string;
  ready: ReadySession[];
  /** refills in flight for this key */
  creating: number;
  /** no refill before this time (after failures) */
  pausedUntil: number;
  failuresInRow: number;
  /** refills run only for a key whose last own creation worked (or that was warmed on purpose) */
  proven: boolean;
}

export interface SessionPoolStats {
  /** takes served from the pool */
  hits: number;
  /** takes that had to create their session inline */
  misses: number;
  /** ready sessions dropped unused because they expired */
  expired: number;
  /** sessions created by refills */
  refilled: number;
  refillFailures: number;
  /** ready sessions now, over all keys */
  ready: number;
}

export class SessionPool {
  private readonly keys = new Map<string, KeySessions>();
  private readonly concurrency: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly now: () => number;
  // a light signal and a member list: both live as long as the pool and see a refill come and go every request
  private readonly stopping = new LightAbortController();
  private readonly inFlight = new MemberList<Promise<void>>();
  private counters = { hits: 0, misses: 0, expired: 0, refilled: 0, refillFailures: 0 };

  constructor(private readonly opts: SessionPoolOptions) {
    if (!Number.isInteger(opts.size) || opts.size < 1) throw new RangeError(`session pool size must be a positive integer, got ${opts.size}`);
    if (!(opts.ttlMs > 0)) throw new RangeError(`session pool ttlMs must be positive, got ${opts.ttlMs}`);
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.backoffMs = opts.backoffMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 30_000;
    this.now = opts.now ?? (() => performance.now());
  }

  /** A session for this key that no one else has or will get: from the pool when one is ready, else created now. */
  async take(key: string, fingerprint: string, signal: AbortSignal, trace?: TraceHeaders): Promise<string> {
    const ready = this.takeReady(key, fingerprint);
    if (ready !== undefined) return ready;
    const entry = this.entry(key, fingerprint);
    this.counters.misses++;
    // the request's own creation goes out alone; the refills follow only once it worked, so a key that refuses
    // sessions (dead, rate-limited) is asked once, by the request, and not three times
    const created = this.opts.client.createSession(key, signal, trace);
    created.then(
      () => {
        entry.proven = true;
        this.refillSoon();
      },
      () => {
        entry.proven = false;
      },
    );
    return created;
  }

  /** A ready session for this key, taken as take() takes it, or undefined when none is ready (then call take()). */
  takeReady(key: string, fingerprint: string): string | undefined {
    const entry = this.entry(key, fingerprint);
    this.dropExpired(entry);
    const session = entry.ready.shift();
    if (session === undefined) return undefined;
    this.counters.hits++;
    // after the caller's query is on the wire (undici writes on the next tick): a refill sent first would make
    // the upstream create a session before it starts this request's answer
    this.refillSoon();
    return session.id;
  }

  /**
   * The upstream forgot a session this pool handed out (404 on its query): the key's other ready sessions are as
   * old or older than the ones made since, so all are dropped (counted as expired) and the pool is refilled.
   */
  discard(key: string): void {
    const entry = this.keys.get(key);
    if (entry === undefined || entry.ready.length === 0) return;
    this.counters.expired += entry.ready.length;
    entry.ready.length = 0;
    this.refill();
  }

  /** Fill this key's pool ahead of its first request. */
  warm(key: string, fingerprint: string): void {
    this.entry(key, fingerprint).proven = true;
    this.refill();
  }

  stats(): SessionPoolStats {
    let ready = 0;
    for (const entry of this.keys.values()) ready += entry.ready.length;
    return { ...this.counters, ready };
  }

  /** Abort refills in flight and start no more; resolves once they have settled. Ready sessions are dropped. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled(this.inFlight.values());
    this.keys.clear();
  }

  private entry(key: string, fingerprint: string): KeySessions {
    let entry = this.keys.get(key);
    if (entry === undefined) {
      entry = { key, fingerprint, ready: [], creating: 0, pausedUntil: 0, failuresInRow: 0, proven: false };
      this.keys.set(key, entry);
    }
    return entry;
  }

  private dropExpired(entry: KeySessions): void {
    const oldest = this.now() - this.opts.ttlMs;
    let n = 0;
    while (n < entry.ready.length && entry.ready[n]!.createdAt <= oldest) n++;
    if (n > 0) {
      entry.ready.splice(0, n);
      this.counters.expired += n;
    }
  }

  private refillScheduled = false;

  private refillSoon(): void {
    if (this.refillScheduled) return;
    this.refillScheduled = true;
    setImmediate(() => {
      this.refillScheduled = false;
      this.refill();
    });
  }

  /** Start as many refills as the concurrency allows, for the keys whose pool is short. */
  private refill(): void {
    if (this.stopping.signal.aborted) return;
    const now = this.now();
    for (const entry of this.keys.values()) {
      if (this.inFlight.size >= this.concurrency) return;
      if (!entry.proven || entry.pausedUntil > now) continue;
      while (entry.ready.length + entry.creating < this.opts.size && this.inFlight.size < this.concurrency) {
        this.createFor(entry);
      }
    }
  }

  private createFor(entry: KeySessions): void {
    entry.creating++;
    const run = this.opts.client
      .createSession(entry.key, this.stopping.signal)
      .then(
        (id) => {
          entry.failuresInRow = 0;
          if (this.stopping.signal.aborted) return;
          entry.ready.push({ id, createdAt: this.now() });
          this.counters.refilled++;
        },
        (err: unknown) => {
          if (this.stopping.signal.aborted) return;
          this.counters.refillFailures++;
          // no more refills for this key until a request's own creation on it works again: a key that died is
          // not asked again by the pool, only by the requests the key pool still sends it (none, once it is dead)
          entry.proven = false;
          entry.failuresInRow++;
          entry.pausedUntil = this.now() + Math.min(this.maxBackoffMs, this.backoffMs * 2 ** (entry.failuresInRow - 1));
          this.opts.onError?.(err, entry.fingerprint);
        },
      )
      .finally(() => {
        entry.creating--;
        this.inFlight.delete(membership);
        this.refill();
      });
    const membership = this.inFlight.add(run);
  }
}

/** Without a pool (SESSION_POOL_SIZE=0): each attempt's session is created when it needs one. */
export function sessionsCreatedWhenNeeded(client: SessionCreator): SessionSource {
  return { take: (key, _fingerprint, signal, trace) => client.createSession(key, signal, trace) };
}
