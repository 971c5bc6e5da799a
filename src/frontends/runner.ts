/**
 * The one place where an HTTP request meets the engine, for every front end: start the completion (failover and
 * the answer's transformations happen inside), then either stream the front end's encoding of the events or
 * collect them and send one JSON body. The client hanging up aborts the upstream at once.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AnswerSink, AnswerStream, AttemptTrace, CompletionHandle, CompletionOptions, Engine } from '../core/engine.js';
import { GatewayError, streamFailed } from '../core/errors.js';
import { checkRequestLimits, MessageOrigins, type RequestLimits } from '../core/limits.js';
import type { GatewayEvent, GatewayRequest } from '../core/types.js';
import type { InFlight, InFlightEntry } from '../http/inflight.js';
import type { StreamProbe } from '../http/stream-probe.js';
import { wholeAnswerOf } from './answer-lifecycle.js';
import type { FrontEnd, RegisteredFrontEnd, StreamEncoder } from './spec.js';
import { SseWriter } from './stream-writer.js';
import { LightAbortController } from '../runtime/light-abort.js';

export interface RunnerOptions {
  pingMs: number;
  /** MAX_MESSAGES and MAX_MESSAGE_CHARS, checked on each parsed request (src/core/limits.ts) */
  limits: RequestLimits;
  /** completions in flight, for the graceful shutdown (src/http/inflight.ts) */
  inflight?: InFlight;
  /** per streaming response: streams in flight and the gap between chunks (src/observability/metrics.ts) */
  streamProbe?: () => StreamProbe;
}

/** Serves the front ends: each path of each spec, with its route config (error shape…), through one handler. */
export function frontEndRoutes(engine: Engine, frontEnds: readonly RegisteredFrontEnd[], opts: RunnerOptions) {
  return (app: FastifyInstance): void => {
    for (const frontEnd of frontEnds) {
      const { config } = frontEnd;
      const check = (req: GatewayRequest, origins: MessageOrigins): void => checkRequestLimits(req, opts.limits, origins);
      const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
        const origins = new MessageOrigins();
        const turn = await frontEnd.turn(request.body, origins, request, (req) => check(req, origins));
        if ('local' in turn) return turn.local;
        await runCompletion(engine, turn.request, turn.answer, request, reply, opts, turn.continuation);
        return reply;
      };
      for (const path of frontEnd.paths) app.post(path, { config }, handler);
      frontEnd.extraRoutes?.(app, opts.limits, config);
    }
  };
}

export async function runCompletion(
  engine: Engine,
  gwRequest: GatewayRequest,
  frontEnd: FrontEnd,
  request: FastifyRequest,
  reply: FastifyReply,
  opts: RunnerOptions,
  /** continue an upstream session (src/core/engine.ts, SessionContinuation) */
  continuation?: CompletionOptions['continuation'],
): Promise<void> {
  // a plain-object signal, not an EventTarget: every completion makes one (src/runtime/light-abort.ts)
  const abort = new LightAbortController();
  const entry = opts.inflight?.enter(abort);
  const onClose = (): void => {
    if (!reply.raw.writableFinished) abort.abort();
  };
  // 'close' comes once per response: `on` spares the wrapper objects once() builds for every stream
  reply.raw.on('close', onClose);
  request.gw.model = gwRequest.requestedModel;
  request.gw.stream = gwRequest.stream;
  const tracing = request.gw.trace;
  tracing?.completionStarted(gwRequest);
  let handle: CompletionHandle;
  const trace: AttemptTrace = { attempts: 0 };
  const allowedPlugins = request.gw.allowedPlugins;
  try {
    const req = allowedPlugins === undefined ? gwRequest : { ...gwRequest, allowedPlugins };
    handle = await engine.startCompletion(req, abort.signal, { trace, log: request.log, continuation, observer: tracing });
  } catch (err) {
    reply.raw.off('close', onClose);
    if (trace.attempts > 0) {
      request.gw.attempts = trace.attempts;
      if (trace.lastKey !== undefined) request.gw.upstreamKey = trace.lastKey;
      if (trace.endpoint !== undefined) request.gw.endpoint = trace.endpoint;
    }
    if (err instanceof GatewayError && err.code === 'client_closed_request') request.gw.outcome = 'client_closed';
    entry?.leave();
    tracing?.completionSettled();
    throw entry?.reason ?? err;
  }
  const gw = request.gw;
  gw.endpoint = handle.endpointId;
  gw.answeredBy = handle.model;
  gw.upstreamKey = handle.keyFingerprint;
  gw.attempts = handle.attempts;
  gw.ttftMs = handle.ttftMs;
  const headers = {
    'x-request-id': request.id,
    'x-ondemand-endpoint': handle.endpointId,
    'x-gateway-model': handle.model,
    'x-gateway-attempts': String(handle.attempts),
  };
  const tap = tracing?.answerTap;
  try {
    if (handle.stream !== undefined) {
      await streamAnswer(handle.stream, frontEnd.streamEncoder(handle), reply, headers, opts, request, entry, tap);
    } else {
      const whole = handle.whole ?? [];
      tap?.(whole);
      const body = await frontEnd.render(wholeAnswerOf(whole), handle);
      void reply.headers(headers);
      await reply.code(200).type('application/json; charset=utf-8').send(body);
    }
  } catch (err) {
    throw entry?.reason ?? err;
  } finally {
    entry?.leave();
    handle.cancel();
    reply.raw.off('close', onClose);
    if (handle.result.usage) gw.usage = handle.result.usage;
    if (handle.result.finishReason) gw.finishReason = handle.result.finishReason;
    gw.outcome ??= handle.result.outcome ?? 'aborted';
    tracing?.completionSettled();
  }
}

type AnswerTap = (events: readonly GatewayEvent[]) => void;

async function streamAnswer(
  stream: AnswerStream,
  encoder: StreamEncoder,
  reply: FastifyReply,
  headers: Record<string, string>,
  opts: RunnerOptions,
  request: FastifyRequest,
  entry: InFlightEntry | undefined,
  tap: AnswerTap | undefined,
): Promise<void> {
  reply.hijack();
  const writer = new SseWriter(reply.raw, { headers, pingMs: opts.pingMs, ...(encoder.ping === undefined ? {} : { ping: encoder.ping }) });
  entry?.streaming((err) => writer.end(writer.open ? encoder.error(err) : ''));
  const streamed = new StreamedReply(stream, encoder, writer, request, opts.streamProbe?.(), tap);
  try {
    const start = encoder.start?.();
    const full = start === undefined ? undefined : writer.write(start);
    if (full !== undefined) await full;
  } catch (err) {
    streamed.broke(err);
    return streamed.finished;
  }
  stream.pipe(streamed);
  return streamed.finished;
}

/**
 * A streamed answer written as the engine hands it over: each batch encoded and written in the upstream's data
 * callback. A step that cannot finish at once (the client's socket is full, or an encoder that saves before the
 * end) holds the upstream, and what the engine hands over meanwhile waits its turn, in order.
 */
class StreamedReply implements AnswerSink {
  /** resolves once the response is ended, however the answer ended */
  readonly finished: Promise<void>;
  private resolveFinished!: () => void;
  /** steps waiting behind one that did not finish at once; undefined when none is pending */
  private waiting: (() => Promise<void> | undefined)[] | undefined;
  private closed = false;

  constructor(
    private readonly stream: AnswerStream,
    private readonly encoder: StreamEncoder,
    private readonly writer: SseWriter,
    private readonly request: FastifyRequest,
    private readonly probe: StreamProbe | undefined,
    private readonly tap: AnswerTap | undefined,
  ) {
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
  }

  batch(events: GatewayEvent[]): void {
    this.run(() => this.write(events));
  }

  end(): void {
    this.run(() => this.close(this.encoder.done()));
  }

  fail(err: unknown): void {
    this.run(() => this.close(this.errorText(err)));
  }

  /** the front end failed: the upstream stops, and the client gets the error if it is still there */
  broke(err: unknown): void {
    this.stream.stop();
    this.close(this.errorText(err));
  }

  private write(events: GatewayEvent[]): Promise<void> | undefined {
    if (!this.writer.open) {
      this.stream.stop();
      return this.close('');
    }
    this.tap?.(events);
    this.probe?.write(events);
    let text = '';
    for (let i = 0; i < events.length; i++) {
      const piece = this.encoder.encode(events[i] as GatewayEvent);
      if (typeof piece !== 'string') return this.writeWhenEncoded(text, piece, events, i + 1);
      text += piece;
    }
    return this.writer.write(text); // a promise only under backpressure
  }

  private async writeWhenEncoded(text: string, piece: Promise<string>, events: GatewayEvent[], from: number): Promise<void> {
    let all = text + (await piece);
    for (let i = from; i < events.length; i++) all += await this.encoder.encode(events[i] as GatewayEvent);
    const full = this.writer.write(all);
    if (full !== undefined) await full;
  }

  private errorText(err: unknown): string {
    const ge = err instanceof GatewayError ? err : streamFailed(err);
    this.request.gw.errorCode = ge.code ?? ge.type;
    if (ge.status >= 500) this.request.log.warn({ code: ge.code }, ge.message);
    return this.writer.open ? this.encoder.error(ge) : '';
  }

  private close(text: string): undefined {
    if (this.closed) return undefined;
    this.closed = true;
    this.waiting = undefined;
    this.writer.end(text);
    this.probe?.end();
    this.resolveFinished();
    return undefined;
  }

  /** runs a step now, or after the pending ones; a step that returns a promise holds the upstream until it settles */
  private run(step: () => Promise<void> | undefined): void {
    if (this.closed) return;
    if (this.waiting !== undefined) {
      this.waiting.push(step);
      return;
    }
    const pending = this.attempt(step);
    if (pending === undefined || this.closed) return;
    this.waiting = [];
    this.stream.hold();
    this.drainAfter(pending);
  }

  private attempt(step: () => Promise<void> | undefined): Promise<void> | undefined {
    try {
      return step();
    } catch (err) {
      this.broke(err);
      return undefined;
    }
  }

  private drainAfter(pending: Promise<void>): void {
    pending.then(
      () => this.drain(),
      (err: unknown) => this.broke(err),
    );
  }

  /** the waiting steps in order; one that does not finish at once holds the rest again, the last resumes the upstream */
  private drain(): void {
    const waiting = this.waiting ?? [];
    for (let step = waiting.shift(); step !== undefined && !this.closed; step = waiting.shift()) {
      const pending = this.attempt(step);
      if (pending !== undefined && !this.closed) return this.drainAfter(pending);
    }
    this.waiting = undefined;
    if (!this.closed) this.stream.resume();
  }
}
