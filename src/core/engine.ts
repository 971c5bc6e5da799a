/**
 * How a request becomes an answer: plan the models, lease a key, take a session, send the query, read the
 * answer, and run it through the answer stages (src/core/answer.ts). Every failure before the first piece of the
 * answer goes to the failure policy (src/core/failure-policy.ts), which says what comes next: another key, the
 * next model of the plan, or an error for the client; once an answer has started, a failure ends the stream with
 * that error. Every client API goes through `startCompletion`. The engine sees the world through src/core/ports.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { clientClosed, UpstreamFailure } from '../ondemand/failure.js';
import type { UpstreamEvent } from '../ondemand/frames.js';
import { answerFilter, upstreamQuery, type AnswerStage } from './answer.js';
import { clientClosedRequest, GatewayError, noUpstreamAttempt } from './errors.js';
import type { EventFilter, WarnLog } from './events.js';
import { decide, type FailureSituation, type NextStep, type SameKeyRetries } from './failure-policy.js';
import type { ModelPlanner, PlannedModel } from './model-plan.js';
import { resolvePluginIds, withWebSearchPolicy, type PluginSettings } from './plugins.js';
import type {
  AttemptObserver,
  KeyLease,
  Leaser,
  ObservedAttempt,
  SessionContinuation,
  SessionPrepare,
  SessionSource,
  UpstreamCalls,
  UpstreamReader,
  ReadListener,
} from './ports.js';
import { GrowingCount } from './max-tokens.js';
import { countTokens } from './tokens.js';
import type { FinishReason, GatewayEvent, GatewayRequest, Usage } from './types.js';

export type { AttemptObserver, SessionContinuation, SessionPrepare, SessionSource } from './ports.js';

export interface EngineSettings {
  /** attempts per model of the plan (MAX_ATTEMPTS) */
  maxAttempts: number;
  /** no new attempt starts later than this after the request came in (RETRY_DEADLINE_MS) */
  retryDeadlineMs: number;
  /** retries on the same key once no other key can take the request; undefined: none */
  sameKey?: SameKeyBackoff | undefined;
  /** also send max_tokens upstream (UPSTREAM_MAX_TOKENS); the gateway enforces it either way */
  upstreamMaxTokens?: boolean | undefined;
}

export interface SameKeyBackoff {
  /** the first wait (RETRY_BACKOFF_MS), doubled with each retry, with jitter */
  baseDelayMs: number;
  /** the longest wait (RETRY_BACKOFF_MAX_MS) */
  maxDelayMs: number;
  /** the longest Retry-After of a 429 that is waited out (ALL_KEYS_OUT_WAIT_MS) */
  maxRetryAfterMs: number;
}

export interface EngineDeps {
  settings: EngineSettings;
  leaser: Leaser;
  upstream: UpstreamCalls;
  /** a session for this key: a ready one from the session pool, or one created now */
  sessions: SessionSource;
  /** the models to try in order: auto routing, fallback chains, per-model settings (src/core/model-plan.ts) */
  planner: ModelPlanner;
  /** checks the request up front (throws a 400), then runs per attempt between session and query (media upload) */
  prepareSession: (req: GatewayRequest) => SessionPrepare | undefined;
  /** the answer's stages, in order (ANSWER_STAGES) */
  stages: readonly AnswerStage[];
  /** milliseconds, monotonic */
  now: () => number;
  /** [0, 1) for the retry jitter */
  random: () => number;
  /** which plugin ids requests may run (WEB_SEARCH_PLUGIN_ID, PLUGIN_IDS_ALLOWED) */
  plugins: PluginSettings;
}

/** What the attempts so far were, for the request's log line when no answer comes (the engine fills it in). */
export interface AttemptTrace {
  attempts: number;
  lastKey?: string;
  endpoint?: string;
}

export interface CompletionOptions {
  trace?: AttemptTrace | undefined;
  /** where the answer stages report an answer that is not what the request asked for */
  log?: WarnLog | undefined;
  /** an upstream session that has seen the earlier turns: the first attempt continues it when it can */
  continuation?: SessionContinuation | undefined;
  /** sees each upstream attempt (the request's trace); none: nothing extra is done per attempt */
  observer?: AttemptObserver | undefined;
}

export interface CompletionHandle {
  endpointId: string;
  /** the model that answered (an alias or endpointId): differs from the requested one after auto routing or a fallback */
  model: string;
  keyFingerprint: string;
  /** the upstream session that answered (it belongs to the key's account) */
  sessionId: string;
  /** the answer continued the request's SessionContinuation instead of replaying the conversation */
  continuedSession: boolean;
  attempts: number;
  /** milliseconds from start to the first answer event */
  ttftMs: number;
  /** a streamed answer, filtered, handed over batch by batch as it is read (a stream request) */
  readonly stream: AnswerStream | undefined;
  /** a non-stream answer, filtered, already whole (a non-stream request) */
  readonly whole: readonly GatewayEvent[] | undefined;
  /** filled in as the stream completes */
  result: { usage?: Usage; outcome?: 'ok' | 'error' | 'aborted'; finishReason?: FinishReason };
  /** stop early (the client left, or the front end failed): aborts the upstream and frees the key; idempotent */
  cancel(): void;
}

/**
 * A streamed answer as it is read. `pipe` hands the batches to a sink synchronously, in the upstream's own data
 * callback: no promise, iterator or microtask per network read between the socket and the client's response.
 */
export interface AnswerStream {
  /** from now on every batch (never empty) goes to `sink`, then its end or its failure; call once */
  pipe(sink: AnswerSink): void;
  /** the sink is behind (its client's socket is full): the upstream is held until resume() */
  hold(): void;
  resume(): void;
  /** the sink is gone (the client hung up): abort the upstream and free the key, unless the answer is over; idempotent */
  stop(): void;
}

export interface AnswerSink {
  batch(events: GatewayEvent[]): void;
  /** the answer is complete (the last batch held its end) */
  end(): void;
  /** the upstream failed after the answer started: a GatewayError for the client */
  fail(err: unknown): void;
}

/** Where one request stands between attempts. */
interface Walk {
  step: number;
  /** keys this model tried */
  tried: Set<string>;
  /** attempts this model made */
  modelAttempts: number;
  attempts: number;
  keysTriedMost: number;
  lastFailure: UpstreamFailure | undefined;
  /** the key of the last attempt */
  lastKey: string | undefined;
  /** the upstream forgot a pooled session: from now on sessions are created, not taken */
  freshSession: boolean;
  /** retries made on the same key (the backoff doubles with each) */
  sameKeyRetries: number;
  /** the session continuation still to try (the first attempt only) */
  continuation: SessionContinuation | undefined;
}

export class Engine {
  private readonly now: () => number;
  private readonly stages: readonly AnswerStage[];
  private readonly random: () => number;

  constructor(private readonly deps: EngineDeps) {
    this.now = deps.now;
    this.stages = deps.stages;
    this.random = deps.random;
  }

  /**
   * Resolves when the first piece of the answer (content or reasoning) has arrived, or throws a GatewayError
   * once the failure policy gives up. A request that runs plugins resolves once OnDemand accepted the query: from
   * then on its key is committed (README, "Plugins and failover"). The caller owns `signal`: aborting it aborts
   * the upstream at once.
   */
  async startCompletion(req: GatewayRequest, signal: AbortSignal, opts: CompletionOptions = {}): Promise<CompletionHandle> {
    // every model's plugins are checked before the first upstream call: a refused plugin is the client's 400
    const plan = this.deps.planner.plan(req).map((p) => withPlugins(p, this.deps.plugins));
    const prepare = this.deps.prepareSession(req);
    const started = this.now();
    const deadline = started + this.deps.settings.retryDeadlineMs;
    const walk: Walk = {
      step: 0,
      tried: new Set(),
      modelAttempts: 0,
      attempts: 0,
      keysTriedMost: 0,
      lastFailure: undefined,
      lastKey: undefined,
      freshSession: false,
      sameKeyRetries: 0,
      continuation: opts.continuation,
    };
    const situation = (keysLeft: number | undefined): FailureSituation => ({
      keysLeft,
      hasNextModel: walk.step + 1 < plan.length,
      msLeft: deadline - this.now(),
      attemptsLeft: this.deps.settings.maxAttempts - walk.modelAttempts,
      answerStarted: false,
      keysTried: walk.tried.size,
      keysTriedMost: walk.keysTriedMost,
      sameKey: this.sameKey(walk),
    });

    for (;;) {
      if (signal.aborted) throw clientClosedRequest();
      const planned = plan[walk.step];
      if (planned === undefined) throw noUpstreamAttempt();
      let lease: KeyLease;
      try {
        lease = await this.deps.leaser.acquire({ exclude: walk.tried, signal, prefer: walk.continuation?.keyFingerprint });
      } catch (err) {
        if (signal.aborted) throw clientClosedRequest();
        // no key left to try: the last upstream failure explains more than "pool empty" when there is one
        if (walk.lastFailure === undefined || !(err instanceof GatewayError) || walk.tried.size === 0) throw err;
        await this.follow(decide(walk.lastFailure, situation(0)).next, walk, signal);
        continue;
      }
      walk.tried.add(lease.fingerprint);
      walk.lastKey = lease.fingerprint;
      walk.modelAttempts++;
      walk.attempts++;
      walk.keysTriedMost = Math.max(walk.keysTriedMost, walk.tried.size);
      const observed = opts.observer?.attemptStarted({ number: walk.attempts, keyFingerprint: lease.fingerprint, model: planned.model, endpointId: planned.endpointId });
      if (observed !== undefined) lease = observedLease(lease, observed);
      if (opts.trace) {
        opts.trace.attempts = walk.attempts;
        opts.trace.lastKey = lease.fingerprint;
        opts.trace.endpoint = planned.endpointId;
      }
      const continuing = takeContinuation(walk, lease.fingerprint, planned.request);
      try {
        return await this.attempt(req, planned, lease, walk, prepare, signal, started, opts.log, continuing);
      } catch (err) {
        const committed = err instanceof CommittedFailure;
        const failure = this.deps.upstream.toFailure(committed ? err.cause : err, 'query', signal.aborted ? signal : undefined);
        lease.release({ ok: false, failure });
        const verdict = decide(failure, committed ? { ...situation(undefined), answerStarted: true } : situation(undefined));
        if (continuing !== undefined && !committed && !signal.aborted && verdict.next.do === 'fail' && this.now() < deadline) {
          // the continued session failed (gone, or refusing the turn): replay the whole conversation once instead
          walk.tried.delete(lease.fingerprint);
          walk.lastFailure = failure;
          continue;
        }
        if (verdict.freshSession && continuing === undefined) {
          walk.freshSession = true;
          this.deps.sessions.discard?.(lease.key);
        }
        walk.lastFailure = failure;
        await this.follow(verdict.next, walk, signal);
      }
    }
  }

  private sameKey(walk: Walk): SameKeyRetries | undefined {
    const backoff = this.deps.settings.sameKey;
    if (backoff === undefined) return undefined;
    return { left: this.deps.settings.maxAttempts - walk.modelAttempts, made: walk.sameKeyRetries, ...backoff, random: this.random };
  }

  /** Carries out the policy's next step (or throws its error). */
  private async follow(next: NextStep, walk: Walk, signal: AbortSignal): Promise<void> {
    switch (next.do) {
      case 'fail':
        throw next.error;
      case 'next_model':
        walk.step++;
        walk.tried = new Set();
        walk.modelAttempts = 0;
        return;
      case 'same_key':
        // wait, then let the leaser hand out that key again (or another one that came back meanwhile)
        walk.sameKeyRetries++;
        if (walk.lastKey !== undefined) walk.tried.delete(walk.lastKey);
        try {
          await sleep(next.waitMs, undefined, { signal });
        } catch {
          throw clientClosedRequest();
        }
        return;
      case 'another_key':
        return;
    }
  }

  /**
   * One attempt: session, query, and the first of the answer (for a stream) or all of it. Every attempt runs on
   * the caller's signal: the engine never aborts an attempt by signal, and a failed attempt's reader is destroyed.
   */
  private async attempt(
    req: GatewayRequest,
    planned: PlannedModel,
    lease: KeyLease,
    walk: Walk,
    prepare: SessionPrepare | undefined,
    signal: AbortSignal,
    started: number,
    log: WarnLog | undefined,
    continuing: Continuing | undefined,
  ): Promise<CompletionHandle> {
    const callStart = this.now();
    let reader: UpstreamReader | undefined;
    try {
      const trace = lease.traceHeaders;
      // a ready session is taken without a promise (the usual case); else one is made for this request
      const ready = continuing === undefined && !walk.freshSession ? this.deps.sessions.takeReady?.(lease.key, lease.fingerprint) : undefined;
      const sessionId =
        continuing?.sessionId ??
        ready ??
        (walk.freshSession ? await this.deps.upstream.createSession(lease.key, signal, trace) : await this.deps.sessions.take(lease.key, lease.fingerprint, signal, trace));
      const toSend = continuing?.request ?? planned.request;
      const request = prepare ? await prepare(lease.key, sessionId, toSend, signal, trace) : toSend;
      const body = upstreamQuery(request, planned.endpointId, this.stages, { sendMaxTokens: this.deps.settings.upstreamMaxTokens });
      reader = await this.deps.upstream.openQuery(lease.key, sessionId, body, signal, trace);
      const open = reader;
      const webSearchId = this.deps.plugins.webSearchId;
      const answer = new AnswerReading(body.query, webSearchId);
      answer.filter = answerFilter(request, log, this.stages, answer);
      const result: CompletionHandle['result'] = {};
      // A plugin run commits at the upstream's 200: from then on the planner and the plugins spend that key's
      // credits, and a retry would spend them again. Otherwise a stream commits at its first answer event, and a
      // non-stream answer only once it is whole (nothing reached the client, so any failure before can go elsewhere).
      const runsPlugins = body.pluginIds.length > 0;
      let stream: AnswerStream | undefined;
      let whole: GatewayEvent[] | undefined;
      if (req.stream) {
        const first = runsPlugins ? NO_EVENTS : await firstAnswerEvents(reader);
        stream = new StreamedAnswer(open, first, answer, lease, callStart, result, this.now, this.deps.upstream);
      } else {
        whole = runsPlugins ? await committed(wholeAnswer(reader, answer)) : await wholeAnswer(reader, answer);
        settle(open, answer, lease, callStart, result, this.now);
      }
      return {
        endpointId: planned.endpointId,
        model: planned.model,
        keyFingerprint: lease.fingerprint,
        sessionId,
        continuedSession: continuing !== undefined,
        attempts: walk.attempts,
        ttftMs: this.now() - started,
        result,
        stream,
        whole,
        cancel: () => abandon(open, lease, result),
      };
    } catch (err) {
      reader?.destroy();
      throw err;
    }
  }
}

/** The lease with the attempt's trace headers; releasing it ends the observed attempt too (once, as the lease). */
function observedLease(lease: KeyLease, observed: ObservedAttempt): KeyLease {
  let ended = false;
  return {
    key: lease.key,
    fingerprint: lease.fingerprint,
    traceHeaders: observed.headers,
    release(outcome) {
      if (!ended) {
        ended = true;
        observed.ended(outcome);
      }
      lease.release(outcome);
    },
  };
}

/** The continued session and the request its query carries: the messages the session has not seen. */
interface Continuing {
  sessionId: string;
  request: GatewayRequest;
}

/**
 * The walk's continuation, for this attempt only: it applies to the first attempt, when the leaser gave the key
 * whose account holds the session, and when something is left to send. Every later attempt replays.
 */
function takeContinuation(walk: Walk, fingerprint: string, request: GatewayRequest): Continuing | undefined {
  const c = walk.continuation;
  walk.continuation = undefined;
  if (c === undefined || c.keyFingerprint !== fingerprint) return undefined;
  const unseen = request.messages.filter((m) => !c.seen.has(m));
  if (unseen.length === 0 || unseen.length === request.messages.length) return undefined;
  return { sessionId: c.sessionId, request: { ...request, messages: unseen } };
}

/** The request with the plugin ids it sends checked and filled in (throws the client's 400). */
function withPlugins(planned: PlannedModel, settings: PluginSettings): PlannedModel {
  const request = withWebSearchPolicy(planned.request, settings);
  const ids = resolvePluginIds(request, settings);
  if (ids.length > 0) return { ...planned, request: { ...request, pluginIds: ids } };
  return request === planned.request ? planned : { ...planned, request };
}

/** A failure after a plugin run was accepted: worded for the client, never retried (its cause is the failure). */
class CommittedFailure extends Error {
  constructor(override readonly cause: unknown) {
    super('the upstream failed after the plugin run started');
  }
}

/** A plugin run's answer: a failure in it is marked committed (the run already spent the key's credits). */
async function committed<T>(reading: Promise<T>): Promise<T> {
  try {
    return await reading;
  } catch (err) {
    throw new CommittedFailure(err);
  }
}

/** Reads until an event a client would see (content, reasoning, the end, or an error); keepalives are dropped. */
async function firstAnswerEvents(reader: UpstreamReader): Promise<UpstreamEvent[]> {
  const seen: UpstreamEvent[] = [];
  for (;;) {
    const batch = await reader.next();
    if (batch.length === 0) {
      throw new UpstreamFailure('the upstream stream ended before any answer', { kind: 'stream_error', phase: 'stream' });
    }
    for (const ev of batch) {
      if (ev.type === 'keepalive') continue;
      if (ev.type === 'error' && seen.length === 0) throw streamErrorFailure(ev);
      seen.push(ev);
    }
    if (seen.length > 0) return seen;
  }
}

/**
 * One answer as it is read: the upstream's events become GatewayEvents and go through the answer stages' filter.
 * The answer ends at [DONE], or earlier when a stage ends it (max_tokens): then the rest is not wanted.
 */
class AnswerReading {
  filter: EventFilter | undefined;
  /** the upstream sent [DONE] */
  finished = false;
  /** a stage ended the answer before the upstream did */
  endedEarly = false;
  /** the usage the client gets (set at the end) */
  usage: Usage | undefined;
  /** the answer's finish reason as the client gets it (set at the end) */
  finishReason: FinishReason | undefined;
  /** the answer's tokens for a usage estimate, counted as it grows past a bound: a long answer is not kept whole */
  private readonly completion = new GrowingCount();
  private metrics: Usage | undefined;

  constructor(
    private readonly queryText: string,
    /** OnDemand's Internet Search plugin id: its calls are web searches for the front ends */
    private readonly webSearchId: string,
  ) {}

  /** the upstream sent no metricsLog: both sides counted here, and marked estimated (src/core/tokens.ts) */
  private estimatedUsage(): Usage {
    const inputTokens = countTokens(this.queryText);
    const outputTokens = this.completion.exact();
    return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens, estimated: true };
  }

  /** for the stages: the upstream's input tokens if they came already, else the query counted locally */
  inputTokens(): number {
    return this.metrics?.inputTokens ?? countTokens(this.queryText);
  }

  /**
   * The client's events for one read. An upstream error in it comes back as `error`, after the events before it,
   * unless a stage ended the answer first.
   */
  read(batch: UpstreamEvent[]): { events: GatewayEvent[]; error?: UpstreamFailure } {
    // sized for the batch (and the end's two events), not grown from empty: a read is usually one delta, and an
    // array grown by push takes 17 slots for it
    const out: GatewayEvent[] = new Array(batch.length + 1);
    let n = 0;
    let error: UpstreamFailure | undefined;
    for (const ev of batch) {
      if (ev.type === 'delta') {
        this.completion.append(ev.text);
        out[n++] = { type: 'text', text: ev.text };
      } else if (ev.type === 'thinking') out[n++] = { type: 'reasoning', text: ev.text };
      else if (ev.type === 'plugin_call') {
        out[n++] = { type: 'plugin_call', call: { pluginId: ev.pluginId, name: ev.name, query: ev.query, webSearch: ev.pluginId === this.webSearchId } };
      } else if (ev.type === 'metrics') this.metrics = { inputTokens: ev.inputTokens, outputTokens: ev.outputTokens, totalTokens: ev.totalTokens, estimated: false };
      else if (ev.type === 'error') {
        error = streamErrorFailure(ev);
        break;
      } else if (ev.type === 'done') {
        this.finished = true;
        this.usage = this.metrics ?? this.estimatedUsage();
        this.finishReason = 'stop';
        out[n++] = { type: 'usage', usage: this.usage };
        out[n++] = { type: 'end', finishReason: 'stop' };
        break;
      }
    }
    out.length = n;
    if (this.filter === undefined) return error === undefined ? { events: out } : { events: out, error };
    let events: GatewayEvent[];
    if (n === 1) events = this.filter.push(out[0] as GatewayEvent);
    else {
      events = [];
      for (const event of out) for (const e of this.filter.push(event)) events.push(e);
    }
    const last = events[events.length - 1];
    if (last?.type === 'end') {
      if (!this.finished) this.endedEarly = true;
      this.finishReason = last.finishReason;
      this.usage = usageIn(events) ?? this.usage;
      return { events };
    }
    return error === undefined ? { events } : { events, error };
  }

  get over(): boolean {
    return this.finished || this.endedEarly;
  }
}

function usageIn(events: readonly GatewayEvent[]): Usage | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i] as GatewayEvent;
    if (e.type === 'usage') return e.usage;
  }
  return undefined;
}

/**
 * The answer is over: a finished one lets its connection go back to the pool, one a stage ended early stops the
 * upstream; either way the key served the request well and the lease is released as a success.
 */
function settle(reader: UpstreamReader, answer: AnswerReading, lease: KeyLease, callStart: number, result: CompletionHandle['result'], now: () => number): void {
  if (answer.finished) reader.finish();
  else reader.destroy();
  if (answer.usage !== undefined) result.usage = answer.usage;
  if (answer.finishReason !== undefined) result.finishReason = answer.finishReason;
  result.outcome = 'ok';
  lease.release({ ok: true, latencyMs: now() - callStart });
}

/** The client left before the answer was over: the upstream is aborted and the key freed; a no-op once it has an outcome. */
function abandon(reader: UpstreamReader, lease: KeyLease, result: CompletionHandle['result']): void {
  if (result.outcome !== undefined) return;
  result.outcome = 'aborted';
  reader.destroy();
  lease.release({ ok: false, failure: clientClosed('stream') });
}

/** Reads the whole answer, up to [DONE] or a stage's early end; an upstream error or a cut anywhere throws (and can be retried). */
async function wholeAnswer(reader: UpstreamReader, answer: AnswerReading): Promise<GatewayEvent[]> {
  const all: GatewayEvent[] = [];
  for (;;) {
    const batch = await reader.next();
    if (batch.length === 0) {
      throw new UpstreamFailure('the upstream closed the stream before it finished', { kind: 'stream_error', phase: 'stream' });
    }
    const { events, error } = answer.read(batch);
    if (error !== undefined) throw error;
    for (const e of events) all.push(e);
    if (answer.over) return all;
  }
}

/** After the answer started nothing is retried: the policy only words the error. */
const MID_STREAM: FailureSituation = { hasNextModel: false, msLeft: 0, attemptsLeft: 0, answerStarted: true, keysTried: 1 };

const NO_EVENTS: UpstreamEvent[] = [];

/**
 * A stream request's answer from its first read on: each network read's events become the client's batch in the
 * upstream's data callback (see AnswerStream), and a front end writes a batch at once, so a read of several upstream
 * frames costs one socket write. The first batch is what startCompletion already read.
 */
class StreamedAnswer implements AnswerStream, ReadListener {
  private sink: AnswerSink | undefined;
  /** the answer is over, failed, or its sink left: nothing more reaches the sink */
  private done = false;

  constructor(
    private readonly reader: UpstreamReader,
    private first: UpstreamEvent[],
    private readonly answer: AnswerReading,
    private readonly lease: KeyLease,
    private readonly callStart: number,
    private readonly result: CompletionHandle['result'],
    private readonly now: () => number,
    private readonly upstream: Pick<UpstreamCalls, 'toFailure'>,
  ) {}

  pipe(sink: AnswerSink): void {
    this.sink = sink;
    const first = this.first;
    this.first = NO_EVENTS;
    this.read(first);
    if (!this.done) this.reader.listen(this);
  }

  hold(): void {
    if (!this.done) this.reader.hold();
  }

  resume(): void {
    if (!this.done) this.reader.release();
  }

  stop(): void {
    if (this.done) return;
    this.done = true;
    abandon(this.reader, this.lease, this.result);
  }

  /** one read of the upstream (ReadListener) */
  read(batch: UpstreamEvent[]): void {
    if (this.done) return;
    const sink = this.sink as AnswerSink;
    const { events, error } = this.answer.read(batch);
    if (this.answer.over) {
      this.done = true;
      settle(this.reader, this.answer, this.lease, this.callStart, this.result, this.now);
      if (events.length > 0) sink.batch(events);
      sink.end();
      return;
    }
    // what came before an error in this read still reaches the client
    if (events.length > 0) sink.batch(events);
    if (error !== undefined) this.fail(error);
  }

  /** the body ended without [DONE] (ReadListener) */
  end(): void {
    this.fail(new UpstreamFailure('the upstream closed the stream before it finished', { kind: 'stream_error', phase: 'stream' }));
  }

  /** After the answer started nothing is retried: the failure is recorded, and the policy words the client's error. */
  fail(err: unknown): void {
    if (this.done) return;
    this.done = true;
    this.reader.destroy();
    const failure = this.upstream.toFailure(err, 'stream');
    this.lease.release({ ok: false, failure });
    this.result.outcome = failure.kind === 'client_aborted' ? 'aborted' : 'error';
    const next = decide(failure, MID_STREAM).next;
    (this.sink as AnswerSink).fail(next.do === 'fail' ? next.error : failure);
  }
}

function streamErrorFailure(ev: { message: string; errorCode: string | undefined }): UpstreamFailure {
  return new UpstreamFailure(`the upstream stream failed: ${ev.message}`, {
    kind: 'stream_error',
    phase: 'stream',
    ...(ev.errorCode !== undefined ? { errorCode: ev.errorCode } : {}),
    upstreamMessage: ev.message,
  });
}
