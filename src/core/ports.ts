/**
 * What the engine needs from the world, as small interfaces: the upstream's two calls, ready sessions, and key
 * leases. The OnDemand client, the session pool and the key pool implement them; the engine's tests script them.
 */
import type { UpstreamFailure, UpstreamPhase } from '../ondemand/failure.js';
import type { UpstreamEvent } from '../ondemand/frames.js';
import type { OnDemandQueryBody } from '../ondemand/query.js';
import type { GatewayRequest, Message } from './types.js';

/** Headers one attempt's upstream calls carry when tracing is on (the W3C `traceparent` and `tracestate` of its span). */
export type TraceHeaders = Readonly<Record<string, string>>;

/** An answer being read: batches of events (one per network read, [] once the body ended). */
export interface UpstreamReader {
  next(): Promise<UpstreamEvent[]>;
  /**
   * From now on every read goes to `listener` as it arrives, with no promise per read (a streamed answer's path);
   * `next()` is not called again. Reads already waiting go first.
   */
  listen(listener: ReadListener): void;
  /** the listener is behind: stop reading the upstream until release() (reads already made wait for it) */
  hold(): void;
  release(): void;
  /** the answer is complete: let the connection go back to its pool */
  finish(): void;
  /** stop now: abort the upstream; idempotent */
  destroy(): void;
}

/** What a listening reader is told; after end() or fail() nothing more, and nothing after finish() or destroy(). */
export interface ReadListener {
  read(batch: UpstreamEvent[]): void;
  /** the body ended (with or without [DONE]: the events say) */
  end(): void;
  /** the exchange failed (the upstream, the network, or the caller's signal) */
  fail(failure: UpstreamFailure): void;
}

/** Every call takes the attempt's trace headers (KeyLease.traceHeaders) when tracing is on. */
export interface UpstreamCalls {
  /** a fresh session for this key; throws an UpstreamFailure */
  createSession(key: string, signal: AbortSignal, trace?: TraceHeaders): Promise<string>;
  /** resolves once the upstream accepted the query (2xx); throws an UpstreamFailure */
  openQuery(key: string, sessionId: string, body: OnDemandQueryBody, signal: AbortSignal, trace?: TraceHeaders): Promise<UpstreamReader>;
  /** anything these calls or their readers threw, as an UpstreamFailure (only the transport knows its errors) */
  toFailure(err: unknown, phase: UpstreamPhase, signal?: AbortSignal): UpstreamFailure;
}

export interface SessionSource {
  /** `trace` goes on a session created for this take (a ready one was made before the request) */
  take(key: string, fingerprint: string, signal: AbortSignal, trace?: TraceHeaders): Promise<string>;
  /** a ready session for this key if one is there now, as take() would hand it out, else undefined (no promise) */
  takeReady?(key: string, fingerprint: string): string | undefined;
  /** the upstream forgot a session taken for this key: drop the key's other ready sessions */
  discard?(key: string): void;
}

export type CallOutcome = { ok: true; latencyMs: number } | { ok: false; failure: UpstreamFailure };

export interface KeyLease {
  /** the raw upstream key: goes into the `apikey` header, never into a log */
  readonly key: string;
  /** short, stable, safe to log (e.g. "k:3f9a1c") */
  readonly fingerprint: string;
  /** exactly once per lease; later calls are ignored */
  release(outcome: CallOutcome): void;
  /** headers for the upstream calls made under this lease (the attempt span's traceparent), when traced */
  readonly traceHeaders?: TraceHeaders | undefined;
}

export interface AcquireOptions {
  /** fingerprints already tried for this request */
  exclude?: ReadonlySet<string>;
  signal?: AbortSignal;
  /** this key (fingerprint) when it can serve now (a continued session lives in its account); else the usual choice */
  prefer?: string | undefined;
}

/**
 * A request whose earlier turns an upstream session has seen already: its first attempt, when it gets that
 * session's key, sends only the other messages into that session; any other attempt replays them all into a
 * fresh session.
 */
export interface SessionContinuation {
  /** fingerprint of the key whose account holds the session */
  keyFingerprint: string;
  sessionId: string;
  /** the request's messages (by identity) the session has seen: its query leaves them out */
  seen: ReadonlySet<Message>;
}

export interface Leaser {
  /** a usable key, or a GatewayError saying why none is (and when one is due back) */
  acquire(options?: AcquireOptions): Promise<KeyLease>;
}

/** Runs per attempt between session and query (media upload): the request as it goes upstream for this key. */
export type SessionPrepare = (key: string, sessionId: string, request: GatewayRequest, signal: AbortSignal, trace?: TraceHeaders) => Promise<GatewayRequest>;

/**
 * Sees one request's upstream attempts: the tracing's attempt spans (src/observability/tracing.ts). Optional:
 * without an observer the engine does nothing more per attempt than without tracing.
 */
export interface AttemptObserver {
  attemptStarted(attempt: AttemptStart): ObservedAttempt;
}

export interface AttemptStart {
  /** 1 for the request's first attempt, counted over the whole plan */
  number: number;
  /** the key's fingerprint, never the key */
  keyFingerprint: string;
  /** the model of the plan this attempt serves (an alias or endpointId), and the endpoint it asks */
  model: string;
  endpointId: string;
}

export interface ObservedAttempt {
  /** headers for the attempt's upstream calls (its span's W3C traceparent) */
  readonly headers: TraceHeaders;
  /** the attempt's outcome, once, as its key lease is released */
  ended(outcome: CallOutcome): void;
}
