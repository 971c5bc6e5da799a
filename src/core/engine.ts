/**
 * How a request becomes an OnDemand call: resolve the model, build the query, lease a key, open a fresh session,
 * stream the answer. Failover lives here: any failure before the first piece of the answer is retried on another
 * key (up to MAX_ATTEMPTS, within RETRY_DEADLINE_MS); once an answer has started, a failure ends the stream with
 * an error the front end renders. Every client API goes through `startCompletion`.
 */
import { performance } from 'node:perf_hooks';
import type { Config } from '../config/config.js';
import type { OnDemandClient, QueryStream } from '../ondemand/client.js';
import { clientClosed, toFailure } from '../ondemand/client.js';
import { UpstreamFailure } from '../ondemand/failure.js';
import type { UpstreamEvent } from '../ondemand/frames.js';
import type { ModelRouter } from '../ondemand/models.js';
import { buildQuery } from '../ondemand/query.js';
import { estimateUsage } from './tokens.js';
import { classifyFailure, isSessionGone } from '../keypool/classify.js';
import type { KeyLease, KeyLeaser } from '../keypool/types.js';
import { GatewayError } from './errors.js';
import { afterFailure, fallBackAfterKeys, type ModelPlanner } from './model-plan.js';
import type { GatewayEvent, GatewayRequest, Usage } from './types.js';

export interface EngineDeps {
  config: Pick<Config, 'MAX_ATTEMPTS' | 'RETRY_DEADLINE_MS'>;
  pool: KeyLeaser;
  client: OnDemandClient;
  router: ModelRouter;
  /** a fresh session id for this key; the session pool (if any) sits behind this */
  sessions?: SessionSource;
  /** the models to try in order: auto routing, fallback chains, per-model settings (src/core/model-plan.ts) */
  planner?: ModelPlanner;
  /** checks the request up front (throws a 400), then runs per attempt between session and query (media upload) */
  prepareSession?: (req: GatewayRequest) => SessionPrepare | undefined;
}

export type SessionPrepare = (key: string, sessionId: string, request: GatewayRequest, signal: AbortSignal) => Promise<GatewayRequest>;

export interface SessionSource {
  take(key: string, fingerprint: string, signal: AbortSignal): Promise<string>;
  /** the upstream forgot a session taken for this key: drop the key's other ready sessions */
  discard?(key: string): void;
}

/** What the attempts so far were, for the request's log line when no answer comes (the engine fills it in). */
export interface AttemptTrace {
  attempts: number;
  lastKey?: string;
  endpoint?: string;
}

export interface CompletionHandle {
  endpointId: string;
  /** the model that answered (an alias or endpointId): differs from the requested one after auto routing or a fallback */
  model: string;
  keyFingerprint: string;
  attempts: number;
  /** milliseconds from start to the first answer event */
  ttftMs: number;
  /** the answer, in batches (one per upstream read, never empty); throws GatewayError if the upstream fails after the answer started */
  events: AsyncIterable<GatewayEvent[]>;
  /** filled in as the stream completes */
  result: { usage?: Usage; outcome?: 'ok' | 'error' | 'aborted' };
  /** stop early (the client left, or the front end failed): aborts the upstream and frees the key; idempotent */
  cancel(): void;
}

export class Engine {
  constructor(private readonly deps: EngineDeps) {}

  resolveModel(requested: string): { endpointId: string } {
    const route = this.deps.router.resolve(requested);
    if (route === null) {
      throw new GatewayError(`The model \`${requested}\` does not exist or you do not have access to it.`, {
        status: 404,
        type: 'invalid_request_error',
        code: 'model_not_found',
        param: 'model',
        shouldRetry: false,
      });
    }
    return route;
  }

  /**
   * Resolves when the first piece of the answer (content or reasoning) has arrived, or throws a GatewayError
   * once every allowed attempt has failed. The caller owns `signal`: aborting it aborts the upstream at once.
   */
  async startCompletion(req: GatewayRequest, signal: AbortSignal, trace?: AttemptTrace): Promise<CompletionHandle> {
    const plan = this.deps.planner?.plan(req) ?? [{ model: req.requestedModel, endpointId: this.resolveModel(req.requestedModel).endpointId, request: req }];
    const prepare = this.deps.prepareSession?.(req);
    const started = performance.now();
    const deadline = started + this.deps.config.RETRY_DEADLINE_MS;
    let lastFailure: UpstreamFailure | undefined;
    let attempts = 0;
    let keysTried = 0;
    // a pooled session the upstream forgot (404 on the query route) says its siblings may be gone too: the
    // attempts after it create their session instead of taking a pooled one
    let freshSession = false;

    // each model of the plan gets the usual key failover; a model failure moves on to the next (before the first byte)
    for (const [step, planned] of plan.entries()) {
      if (step > 0 && performance.now() > deadline) break;
      const { endpointId } = planned;
      const hasNextModel = step + 1 < plan.length;
      const tried = new Set<string>();
      let moveOn = false;
      for (let attempt = 1; attempt <= this.deps.config.MAX_ATTEMPTS; attempt++) {
        if (signal.aborted) throw clientGone();
        if (attempt > 1 && performance.now() > deadline) break;
        let lease: KeyLease;
        try {
          lease = await this.deps.pool.acquire({ exclude: tried, signal });
        } catch (err) {
          if (signal.aborted) throw clientGone();
          // no key left to try: the last upstream failure explains more than "pool empty" when we have one
          if (lastFailure !== undefined && err instanceof GatewayError && tried.size > 0) {
            if (fallBackAfterKeys(lastFailure, { hasNextModel })) {
              moveOn = true;
              break;
            }
            throw failureToClientError(lastFailure, tried.size);
          }
          throw err;
        }
        tried.add(lease.fingerprint);
        attempts++;
        if (trace) {
          trace.attempts = attempts;
          trace.lastKey = lease.fingerprint;
          trace.endpoint = endpointId;
        }
        keysTried = Math.max(keysTried, tried.size);
        const callStart = performance.now();
        // Every attempt runs on the caller's signal (no controller of its own): the engine never aborts an attempt
        // by signal, a failed attempt's upstream body is destroyed below, and the calls before it have settled.
        let upstream: QueryStream | undefined;
        try {
          const sessionId =
            this.deps.sessions && !freshSession
              ? await this.deps.sessions.take(lease.key, lease.fingerprint, signal)
              : await this.deps.client.createSession(lease.key, signal);
          const request = prepare ? await prepare(lease.key, sessionId, planned.request, signal) : planned.request;
          const body = buildQuery(request, endpointId);
          const reader = await this.deps.client.openQuery(lease.key, sessionId, body, signal);
          upstream = reader;
          // non-stream: nothing reaches the client before the answer is whole, so a failure anywhere in it can
          // still go to another key; a stream commits at its first answer event
          const first = req.stream ? await firstAnswerEvents(reader) : await wholeAnswerEvents(reader);
          const result: CompletionHandle['result'] = {};
          const handle: CompletionHandle = {
            endpointId,
            model: planned.model,
            keyFingerprint: lease.fingerprint,
            attempts,
            ttftMs: performance.now() - started,
            result,
            events: answerEvents(reader, first, body.query, lease, callStart, result),
            cancel: () => {
              if (result.outcome !== undefined) return;
              result.outcome = 'aborted';
              reader.destroy();
              lease.release({ ok: false, failure: clientClosed('stream') });
            },
          };
          return handle;
        } catch (err) {
          upstream?.destroy();
          const failure = toFailure(err, 'query', signal.aborted ? signal : undefined);
          lease.release({ ok: false, failure });
          if (failure.kind === 'client_aborted') throw clientGone();
          if (isSessionGone(failure)) {
            freshSession = true;
            this.deps.sessions?.discard?.(lease.key);
          }
          const verdict = afterFailure(failure, { hasNextModel });
          if (verdict === 'fail') throw failureToClientError(failure, tried.size);
          lastFailure = failure;
          if (verdict === 'next_model') {
            moveOn = true;
            break;
          }
        }
      }
      if (!moveOn && !fallBackAfterKeys(lastFailure, { hasNextModel })) throw failureToClientError(lastFailure, tried.size);
    }
    throw failureToClientError(lastFailure, keysTried);
  }
}

/** Reads until an event a client would see (content, reasoning, the end, or an error); keepalives are dropped. */
async function firstAnswerEvents(reader: QueryStream): Promise<UpstreamEvent[]> {
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

/** Reads the whole answer, up to [DONE]; an upstream error or a cut anywhere throws (and can be retried). */
async function wholeAnswerEvents(reader: QueryStream): Promise<UpstreamEvent[]> {
  const all: UpstreamEvent[] = [];
  for (;;) {
    const batch = await reader.next();
    if (batch.length === 0) {
      throw new UpstreamFailure('the upstream closed the stream before it finished', { kind: 'stream_error', phase: 'stream' });
    }
    for (const ev of batch) {
      if (ev.type === 'keepalive') continue;
      if (ev.type === 'error') throw streamErrorFailure(ev);
      all.push(ev);
      if (ev.type === 'done') return all;
    }
  }
}

/**
 * The answer as batches of events, one per network read (the first is what startCompletion already read): a
 * front end writes a batch at once, so a read of several upstream frames costs one socket write, and the
 * consumer awaits once per read, not once per event.
 */
async function* answerEvents(
  reader: QueryStream,
  first: UpstreamEvent[],
  queryText: string,
  lease: KeyLease,
  callStart: number,
  result: CompletionHandle['result'],
): AsyncGenerator<GatewayEvent[]> {
  let usage: Usage | undefined;
  let completion = '';
  let finished = false;
  let batch = first;
  try {
    for (;;) {
      const out: GatewayEvent[] = [];
      for (const ev of batch) {
        switch (ev.type) {
          case 'delta':
            completion += ev.text;
            out.push({ type: 'text', text: ev.text });
            break;
          case 'thinking':
            out.push({ type: 'reasoning', text: ev.text });
            break;
          case 'metrics':
            usage = { inputTokens: ev.inputTokens, outputTokens: ev.outputTokens, totalTokens: ev.totalTokens, estimated: false };
            break;
          case 'error':
            // what came before the error in this read still reaches the client
            if (out.length > 0) yield out;
            throw streamErrorFailure(ev);
          case 'done':
            finished = true;
            break;
          case 'keepalive':
            break;
        }
        if (finished) break;
      }
      if (finished) {
        reader.finish();
        usage ??= estimateUsage(queryText, completion);
        result.usage = usage;
        result.outcome = 'ok';
        lease.release({ ok: true, latencyMs: performance.now() - callStart });
        out.push({ type: 'usage', usage }, { type: 'end', finishReason: 'stop' });
        yield out;
        return;
      }
      if (out.length > 0) yield out;
      batch = await reader.next();
      if (batch.length === 0) {
        throw new UpstreamFailure('the upstream closed the stream before it finished', { kind: 'stream_error', phase: 'stream' });
      }
    }
  } catch (err) {
    reader.destroy();
    const failure = toFailure(err, 'stream');
    lease.release({ ok: false, failure });
    result.outcome = failure.kind === 'client_aborted' ? 'aborted' : 'error';
    throw failureToClientError(failure, 1, true);
  } finally {
    if (result.outcome === undefined) {
      // the consumer stopped iterating (client hung up): abort the upstream now
      reader.destroy();
      lease.release({ ok: false, failure: clientClosed('stream') });
      result.outcome = 'aborted';
    }
  }
}

function clientGone(): GatewayError {
  return new GatewayError('the client closed the request', { status: 499, type: 'invalid_request_error', code: 'client_closed_request' });
}

/**
 * What the client is told when the upstream failed. Our key being refused is never shown as "your key is wrong":
 * the client's key was fine, the gateway's upstream key was not.
 */
export function failureToClientError(failure: UpstreamFailure | undefined, keysTried: number, midStream = false): GatewayError {
  if (failure === undefined) {
    return new GatewayError('no upstream attempt could be made', { status: 503, type: 'api_error', code: 'no_upstream_attempt', retryAfterSec: 1 });
  }
  const tried = keysTried > 1 ? ` (after trying ${keysTried} upstream keys)` : '';
  const upstreamText = failure.upstreamMessage ? `: ${failure.upstreamMessage}` : '';
  if (midStream) {
    return new GatewayError(`the upstream stream failed after the answer started${upstreamText || ` (${failure.message})`}`, {
      status: 502,
      type: 'api_error',
      code: failure.errorCode ?? (failure.kind === 'idle_timeout' ? 'upstream_idle_timeout' : 'upstream_stream_interrupted'),
    });
  }
  const cls = classifyFailure(failure);
  switch (cls) {
    case 'client':
      if (failure.kind === 'client_aborted') return clientGone();
      return new GatewayError(`the upstream rejected the request${upstreamText || ` (${failure.message})`}`, {
        status: failure.status === 413 || failure.status === 422 ? failure.status : 400,
        type: 'invalid_request_error',
        code: failure.errorCode ?? 'upstream_invalid_request',
        shouldRetry: false,
      });
    case 'auth':
      return new GatewayError(`the upstream refused this gateway's OnDemand API key${tried}; the gateway operator must check its keys`, {
        status: 503,
        type: 'api_error',
        code: 'upstream_key_rejected',
        retryAfterSec: 30,
      });
    case 'rate':
      return new GatewayError(`the upstream is rate-limiting this gateway${tried}; retry later`, {
        status: 429,
        type: 'rate_limit_error',
        code: 'upstream_rate_limited',
        retryAfterSec: failure.retryAfterSec ?? 10,
      });
    case 'edge':
      return new GatewayError(`the upstream's edge blocked the request${tried}`, {
        status: 502,
        type: 'api_error',
        code: 'upstream_edge_blocked',
        retryAfterSec: 30,
      });
    case 'transient': {
      const timeout = failure.kind.endsWith('timeout');
      return new GatewayError(`the upstream failed${tried}: ${failure.message}${upstreamText}`, {
        status: timeout ? 504 : 502,
        type: 'api_error',
        code: failure.errorCode ?? (timeout ? 'upstream_timeout' : 'upstream_error'),
        retryAfterSec: 2,
      });
    }
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
