/**
 * The one place where an HTTP request meets the engine, for every front end: start the completion (failover and
 * the answer's transformations happen inside), then either stream the front end's encoding of the events or
 * collect them and send one JSON body. The client hanging up aborts the upstream at once.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AttemptTrace, CompletionHandle, CompletionOptions, Engine } from '../core/engine.js';
import { GatewayError, streamFailed } from '../core/errors.js';
import { checkRequestLimits, MessageOrigins, type RequestLimits } from '../core/limits.js';
import type { GatewayEvent, GatewayRequest } from '../core/types.js';
import type { InFlight, InFlightEntry } from '../http/inflight.js';
import type { StreamProbe } from '../http/stream-probe.js';
import { collectWholeAnswer, wholeAnswerOf } from './answer-lifecycle.js';
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
  const events = tap === undefined ? handle.events : tapped(handle.events, tap);
  try {
    if (gwRequest.stream) {
      await streamAnswer(events, frontEnd.streamEncoder(handle), reply, headers, opts, request, entry);
    } else {
      // the engine read the whole answer already: no iteration, no promise per batch
      const answer = handle.whole !== undefined && tap === undefined ? wholeAnswerOf(handle.whole) : await collectWholeAnswer(events);
      const body = await frontEnd.render(answer, handle);
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

/** The answer's batches, each shown to `tap` as it passes (the trace capturing the answer's text). */
async function* tapped(events: AsyncIterable<GatewayEvent[]>, tap: (events: readonly GatewayEvent[]) => void): AsyncGenerator<GatewayEvent[]> {
  for await (const batch of events) {
    tap(batch);
    yield batch;
  }
}

async function streamAnswer(
  events: AsyncIterable<GatewayEvent[]>,
  encoder: StreamEncoder,
  reply: FastifyReply,
  headers: Record<string, string>,
  opts: RunnerOptions,
  request: FastifyRequest,
  entry?: InFlightEntry,
): Promise<void> {
  reply.hijack();
  const writer = new SseWriter(reply.raw, { headers, pingMs: opts.pingMs, ...(encoder.ping === undefined ? {} : { ping: encoder.ping }) });
  const probe = opts.streamProbe?.();
  entry?.streaming((err) => writer.end(writer.open ? encoder.error(err) : ''));
  try {
    if (encoder.start) await writer.write(encoder.start());
    for await (const batch of events) {
      if (!writer.open) break;
      probe?.write(batch);
      let text = '';
      for (const event of batch) {
        const piece = encoder.encode(event);
        text += typeof piece === 'string' ? piece : await piece;
      }
      const full = writer.write(text); // a promise only under backpressure
      if (full !== undefined) await full;
    }
    writer.end(encoder.done());
  } catch (err) {
    const ge = err instanceof GatewayError ? err : streamFailed(err);
    request.gw.errorCode = ge.code ?? ge.type;
    if (ge.status >= 500) request.log.warn({ code: ge.code }, ge.message);
    writer.end(writer.open ? encoder.error(ge) : '');
  } finally {
    probe?.end();
  }
}
