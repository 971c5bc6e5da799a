/**
 * One upstream HTTP exchange on undici's dispatch API: the bytes arrive in callbacks and go straight where they
 * belong (a JSON answer's text, or the frame parser of a streamed query), with no Readable stream, no async
 * iterator and no promise per network chunk in between. undici's `request` builds all three for every call; on
 * the gateway's path (a session refill and a query per request) that was about a tenth of its CPU time
 * (docs/performance.md). Timeouts (connect, first byte, idle) stay undici's: they arrive in onError.
 *
 * The handler uses undici 7's original callbacks (onConnect, onHeaders, onData, onComplete, onError). With the
 * newer controller callbacks undici wraps every request in an adapter that parses each answer's headers into an
 * object and keeps their raw buffers for the answer's life; nothing here reads a 2xx answer's headers, so that is
 * work and memory for nothing (docs/performance.md, "Twelfth round"). An error answer's headers are parsed here.
 *
 * Every failure becomes an UpstreamFailure here, the same way for both kinds of exchange: a non-2xx answer with
 * its (capped) body read for OnDemand's errorCode, a network or timeout error, or the caller's signal aborting.
 */
import type { Dispatcher } from 'undici';
import { clientClosed, UpstreamFailure } from '../ondemand/failure.js';
import type { UpstreamFailureInit, UpstreamPhase } from '../ondemand/failure.js';
import { createFrameParser } from '../ondemand/frames.js';
import type { UpstreamEvent } from '../ondemand/frames.js';
import { parseHeaders, errors as undiciErrors } from '../runtime/undici-lean.js';
import type { ReadListener } from '../core/ports.js';

type Phase = UpstreamPhase;
type Headers = Record<string, string | string[] | undefined>;

/** how much of an error answer is read for its message */
const MAX_ERROR_BODY = 64 * 1024;
/** the longest JSON answer read (session, catalogue, media); a longer one fails as invalid JSON */
export const MAX_JSON_BODY = 4 * 1024 * 1024;
/** parsed events waiting for a slow reader before the upstream socket is paused */
const HIGH_WATER_EVENTS = 256;
/** what a stream may still send after [DONE] before it is cut */
const MAX_AFTER_DONE = 64 * 1024;

const NO_EVENTS: UpstreamEvent[] = [];

/**
 * What both kinds share: the signal, the status line, an error answer's body, the mapping of failures. A subclass
 * says what a 2xx body is for (onOpen, onBody, onEnd) and what a failure does to its waiters (onFail).
 */
abstract class Exchange implements Dispatcher.DispatchHandler {
  /** undici's abort for this request, from onConnect */
  private abortRequest: ((reason?: Error) => void) | undefined;
  /** undici's resume for a paused body, from onHeaders */
  private resumeBody: (() => void) | undefined;
  /** the reader is behind: onData answers false and undici stops reading the socket until resumeBody() */
  protected paused = false;
  /** set once the exchange has an outcome for its reader: later callbacks change nothing */
  protected settled = false;
  /** a 2xx status line has arrived: failures from here on belong to the body's phase */
  private open = false;
  private errorStatus = 0;
  private errorHeaders: Buffer[] | undefined;
  private errorBody: Buffer[] | undefined;
  private errorBytes = 0;
  private readonly onAbort: (() => void) | undefined;

  constructor(
    protected readonly phase: Phase,
    private readonly signal: AbortSignal | undefined,
  ) {
    if (signal !== undefined) {
      this.onAbort = () => {
        this.fail(clientClosed(this.currentPhase()));
        this.abortUpstream();
      };
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  onConnect(abort: (reason?: Error) => void): void {
    this.abortRequest = abort;
    // aborted (or given up) while waiting for a connection: the request is never sent
    if (this.settled) abort(ABANDONED);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    this.resumeBody = resume;
    if (statusCode < 200 || this.settled) return true; // 1xx: the real answer follows
    if (statusCode < 300) {
      this.open = true;
      this.onOpen();
    } else {
      this.errorStatus = statusCode;
      this.errorHeaders = rawHeaders;
      this.errorBody = [];
    }
    return !this.paused;
  }

  onData(chunk: Buffer): boolean {
    if (this.errorBody === undefined) {
      if (!this.settled) this.onBody(chunk);
      else this.afterSettled(chunk);
      return !this.paused;
    }
    if (this.errorBytes >= MAX_ERROR_BODY) return true;
    const room = MAX_ERROR_BODY - this.errorBytes;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.errorBody.push(part);
    this.errorBytes += part.length;
    return true;
  }

  onComplete(): void {
    this.unlisten();
    if (this.errorBody !== undefined) {
      const headers: Headers = parseHeaders(this.errorHeaders ?? []);
      this.fail(httpFailure(this.errorStatus, headers, Buffer.concat(this.errorBody).toString('utf8'), this.phase));
    } else if (!this.settled) this.onEnd();
  }

  onError(err: Error): void {
    this.unlisten();
    if (err === ABANDONED || this.settled) return;
    this.fail(toFailure(err, this.currentPhase(), this.signal?.aborted ? this.signal : undefined));
  }

  /** which phase a failure after a 2xx status line belongs to (the stream, for a query) */
  protected bodyPhase(): Phase {
    return this.phase;
  }

  protected currentPhase(): Phase {
    return this.open ? this.bodyPhase() : this.phase;
  }

  protected abstract onOpen(): void;
  protected abstract onBody(chunk: Buffer): void;
  protected abstract onEnd(): void;
  /** called once, with the exchange's failure */
  protected abstract onFail(failure: UpstreamFailure): void;
  /** bytes that arrive after the reader has its outcome */
  protected afterSettled(_chunk: Buffer): void {}

  protected fail(failure: UpstreamFailure): void {
    if (this.settled) return;
    this.settled = true;
    this.unlisten();
    this.onFail(failure);
  }

  /** stop the upstream exchange (undici closes its socket); nothing more reaches the reader */
  protected abortUpstream(): void {
    this.settled = true;
    this.unlisten();
    this.abortRequest?.(ABANDONED);
  }

  /** a paused body goes on */
  protected resumeUpstream(): void {
    if (!this.paused) return;
    this.paused = false;
    this.resumeBody?.();
  }

  private unlisten(): void {
    if (this.onAbort !== undefined) this.signal?.removeEventListener('abort', this.onAbort);
  }
}

/** The reason given to undici when the gateway stops an exchange itself; one object, no stack trace per abort. */
const ABANDONED = new Error('the gateway stopped reading this upstream answer');

/** A JSON answer, read whole (up to MAX_JSON_BODY), parsed. */
export class JsonExchange extends Exchange {
  readonly answer: Promise<unknown>;
  private resolve!: (value: unknown) => void;
  private reject!: (failure: UpstreamFailure) => void;
  private first: Buffer | undefined;
  private rest: Buffer[] | undefined;
  private bytes = 0;

  constructor(phase: Phase, signal: AbortSignal | undefined) {
    super(phase, signal);
    this.answer = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  protected onOpen(): void {}

  protected onBody(chunk: Buffer): void {
    if (this.bytes + chunk.length > MAX_JSON_BODY) {
      this.fail(invalidJson(this.phase));
      this.abortUpstream();
      return;
    }
    this.bytes += chunk.length;
    if (this.first === undefined) this.first = chunk;
    else (this.rest ??= [this.first]).push(chunk);
  }

  protected onEnd(): void {
    this.settled = true;
    const body = this.rest !== undefined ? Buffer.concat(this.rest) : this.first;
    let value: unknown;
    try {
      value = JSON.parse(body === undefined ? '' : body.toString('utf8'));
    } catch {
      this.reject(invalidJson(this.phase));
      return;
    }
    this.resolve(value);
  }

  protected onFail(failure: UpstreamFailure): void {
    this.reject(failure);
  }
}

/**
 * A streamed query: `opened` resolves with the exchange itself once a 2xx status line arrives; from then on every
 * network chunk goes through the frame parser as it arrives. A reader pulls with `next()` (all events parsed since
 * its last call), or listens (`listen()`: each network read's events handed over in the data callback itself, no
 * promise per read). A pulling reader that falls behind by HIGH_WATER_EVENTS pauses the upstream socket; a
 * listener pauses it with hold().
 */
export class QueryStream extends Exchange {
  readonly opened: Promise<QueryStream>;
  private resolveOpen: ((stream: QueryStream) => void) | undefined;
  private rejectOpen: ((failure: UpstreamFailure) => void) | undefined;
  private readonly parser = createFrameParser();
  private queue: UpstreamEvent[] = NO_EVENTS;
  private ended = false;
  private failure: UpstreamFailure | undefined;
  private waiter: { resolve: (events: UpstreamEvent[]) => void; reject: (failure: UpstreamFailure) => void } | undefined;
  private listener: ReadListener | undefined;
  /** the listener asked to wait: events queue until release() */
  private holding = false;
  /** after finish(): bytes still arriving are counted, not parsed */
  private draining = -1;

  constructor(signal: AbortSignal | undefined) {
    super('query', signal);
    this.opened = new Promise((resolve, reject) => {
      this.resolveOpen = resolve;
      this.rejectOpen = reject;
    });
  }

  /** Every event parsed since the last call, waiting for the next chunk if there is none; [] once the body ended. */
  next(): Promise<UpstreamEvent[]> {
    if (this.queue.length > 0) return Promise.resolve(this.take());
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve(NO_EVENTS);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  listen(listener: ReadListener): void {
    if (this.failure !== undefined) return listener.fail(this.failure);
    this.listener = listener;
    // a pulling reader may have left the socket paused at the high-water mark
    this.flushThenResume();
  }

  hold(): void {
    this.holding = true;
    this.paused = true;
  }

  release(): void {
    if (!this.holding) return;
    this.holding = false;
    this.flushThenResume();
  }

  /** what waited goes to the listener first; the socket is read again only if the listener did not hold meanwhile */
  private flushThenResume(): void {
    this.flush();
    if (!this.holding) this.resumeUpstream();
  }

  /**
   * Stop now: the upstream is aborted (its socket closed) unless it already ended, and a reader still waiting is
   * told the request was given up (a listener is not: it asked). Idempotent.
   */
  destroy(): void {
    this.queue = NO_EVENTS;
    this.listener = undefined;
    if (this.ended || this.failure !== undefined) {
      this.settled = true;
      return;
    }
    this.fail(clientClosed('stream'));
    this.abortUpstream();
  }

  /**
   * The answer is complete ([DONE]): let the body run to its end instead of aborting it, which would cost the
   * connection (undici closes the socket of an aborted request) and an error object. A body that goes on past
   * MAX_AFTER_DONE is cut.
   */
  finish(): void {
    this.queue = NO_EVENTS;
    this.listener = undefined;
    if (this.ended || this.failure !== undefined) return;
    this.settled = true;
    this.draining = 0;
    this.resumeUpstream();
  }

  protected override bodyPhase(): Phase {
    return 'stream';
  }

  protected onOpen(): void {
    const resolve = this.resolveOpen;
    this.resolveOpen = undefined;
    this.rejectOpen = undefined;
    resolve?.(this);
  }

  protected onBody(chunk: Buffer): void {
    const events = this.parser.push(chunk);
    if (events.length > 0) this.deliver(events);
  }

  protected onEnd(): void {
    this.ended = true;
    this.settled = true;
    const events = this.parser.end();
    if (events.length > 0) this.deliver(events);
    else if (this.waiter !== undefined) this.wake(NO_EVENTS);
    if (this.listener !== undefined) this.flush();
  }

  protected override afterSettled(chunk: Buffer): void {
    if (this.draining < 0) return;
    this.draining += chunk.length;
    if (this.draining > MAX_AFTER_DONE) this.abortUpstream();
  }

  protected onFail(failure: UpstreamFailure): void {
    const reject = this.rejectOpen;
    if (reject !== undefined) {
      this.resolveOpen = undefined;
      this.rejectOpen = undefined;
      reject(failure);
      return;
    }
    this.failure = failure;
    this.queue = NO_EVENTS;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(failure);
    const listener = this.listener;
    this.listener = undefined;
    listener?.fail(failure);
  }

  private deliver(events: UpstreamEvent[]): void {
    const listener = this.listener;
    if (listener !== undefined && !this.holding && this.queue.length === 0) return listener.read(events);
    if (this.waiter !== undefined && this.queue.length === 0) return this.wake(events);
    if (this.queue.length === 0) this.queue = events;
    else for (const ev of events) this.queue.push(ev);
    if (this.queue.length >= HIGH_WATER_EVENTS) this.paused = true;
  }

  private wake(events: UpstreamEvent[]): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve(events);
  }

  /**
   * Hands the listener what waited, then the end if the body ended, while it does not hold. Not through take():
   * undici's resume parses what the socket holds at once, and those events must come after these.
   */
  private flush(): void {
    while (!this.holding && this.queue.length > 0 && this.listener !== undefined) {
      const events = this.queue;
      this.queue = NO_EVENTS;
      this.listener.read(events);
    }
    if (this.ended && !this.holding && this.queue.length === 0) {
      const listener = this.listener;
      this.listener = undefined;
      listener?.end();
    }
  }

  private take(): UpstreamEvent[] {
    const out = this.queue;
    this.queue = NO_EVENTS;
    this.resumeUpstream();
    return out;
  }
}

/** Turn an undici/network error into an UpstreamFailure; the message never carries the key. */
export function toFailure(err: unknown, phase: Phase, signal?: AbortSignal): UpstreamFailure {
  if (err instanceof UpstreamFailure) return err;
  if (signal?.aborted) {
    return clientClosed(phase, err);
  }
  const code = (err as { code?: string } | null)?.code ?? '';
  if (err instanceof undiciErrors.ConnectTimeoutError || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new UpstreamFailure('connecting to the upstream timed out', { kind: 'connect_timeout', phase, cause: err });
  }
  if (err instanceof undiciErrors.HeadersTimeoutError || code === 'UND_ERR_HEADERS_TIMEOUT') {
    return new UpstreamFailure('the upstream sent no answer within the first-byte timeout', { kind: 'first_byte_timeout', phase, cause: err });
  }
  if (err instanceof undiciErrors.BodyTimeoutError || code === 'UND_ERR_BODY_TIMEOUT') {
    return new UpstreamFailure('the upstream stream went quiet past the idle timeout', { kind: 'idle_timeout', phase, cause: err });
  }
  const detail = code !== '' ? code : err instanceof Error ? err.name : 'error';
  return new UpstreamFailure(`upstream connection failed (${detail})`, { kind: 'network', phase, cause: err });
}

/** A non-2xx answer: its status, OnDemand's errorCode and message when the body is JSON, an edge page when HTML. */
export function httpFailure(status: number, headers: Headers, text: string, phase: Phase): UpstreamFailure {
  const contentType = String(headers['content-type'] ?? '');
  const trimmed = text.trimStart();
  const htmlBody = contentType.includes('text/html') || trimmed.startsWith('<');
  let errorCode: string | undefined;
  let upstreamMessage: string | undefined;
  if (!htmlBody && trimmed.startsWith('{')) {
    try {
      const parsed = JSON.parse(trimmed) as { errorCode?: unknown; message?: unknown };
      if (typeof parsed.errorCode === 'string') errorCode = parsed.errorCode;
      if (typeof parsed.message === 'string') upstreamMessage = parsed.message.slice(0, 500);
    } catch {
      // not JSON after all
    }
  } else if (htmlBody) {
    const m = /error code:?\s*(\d{3,4})/i.exec(text);
    if (m?.[1] !== undefined) errorCode = `edge_${m[1]}`;
    upstreamMessage = 'the upstream edge answered with an HTML page';
  }
  const init: UpstreamFailureInit = { kind: 'http', phase, status, htmlBody };
  if (errorCode !== undefined) init.errorCode = errorCode;
  if (upstreamMessage !== undefined) init.upstreamMessage = upstreamMessage;
  const retryAfterSec = parseRetryAfter(headers['retry-after']);
  if (retryAfterSec !== undefined) init.retryAfterSec = retryAfterSec;
  return new UpstreamFailure(`upstream answered ${status}${errorCode ? ` ${errorCode}` : ''}`, init);
}

/** Retry-After as seconds (delta-seconds or an HTTP date), undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v.trim())) return Math.max(0, Math.ceil(Number(v)));
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

function invalidJson(phase: Phase): UpstreamFailure {
  return new UpstreamFailure('upstream answered with invalid JSON', { kind: 'http', phase, status: 502 });
}
