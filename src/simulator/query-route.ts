/**
 * The query route: checks the body, asks the answer function, records the message, then answers in the
 * response mode asked for (a stream of frames, one sync JSON answer, or a webhook acknowledgement), ended the
 * way the key's query fault or the answer's own error says.
 */
import { NO_METRICS_MARKER, UNICODE_MARKER, simTokens, splitDeltas } from './answer.js';
import { streamEnding, syncOutcome, type QueryFault } from './faults.js';
import { buildScript, heartbeatFrame, layoutWrites } from './frames.js';
import { pause, resetSocket, sendJson, statusForErrorCode, type ParsedJson } from './http.js';
import { playStream } from './stream.js';
import { newRecordId, type MessageRec } from './state.js';
import type { AnswerContext, SimAnswer } from './types.js';
import { failCall, type UpstreamCall } from './upstream-call.js';
import { isObj, validateQueryBody } from './validate.js';

export async function answerQuery(call: UpstreamCall, sessionId: string, json: ParsedJson, fault: QueryFault | undefined): Promise<void> {
  const { req, res, key, state } = call;
  const s = state.sessions.get(sessionId);
  if (!s) return failCall(call, 404, 'not_found', 'Session not found');
  if (!json.ok || !isObj(json.value)) return failCall(call, 400, 'invalid_request', 'Request body must be a JSON object');
  const body = json.value;
  const invalid = validateQueryBody(body);
  if (invalid) return failCall(call, 400, 'invalid_request', invalid);
  const query = body['query'] as string;
  const endpointId = body['endpointId'] as string;
  const mode = body['responseMode'] as 'sync' | 'stream' | 'webhook';

  if (s.messages.length > 0) state.stats.sessionsReused++;
  if (s.ownerKey !== key) state.stats.crossKeyQueries++;

  const ctx: AnswerContext = {
    query,
    endpointId,
    sessionId,
    history: s.messages.flatMap((m) => [m.query, m.answer]),
    media: s.media.map((m) => m.name),
  };
  if (typeof body['reasoningEffort'] === 'string') ctx.reasoningEffort = body['reasoningEffort'];
  let ans: SimAnswer;
  try {
    ans = state.opts.answer(ctx);
  } catch (err) {
    return failCall(call, 500, 'server_error', `answer function failed: ${(err as Error).message}`);
  }
  const msg: MessageRec = {
    id: newRecordId(),
    sessionId,
    query,
    answer: ans.text,
    endpointId,
    status: 'processing',
    createdAt: new Date().toISOString(),
  };
  s.messages.push(msg);

  if (mode === 'stream') return streamAnswer(call, msg, ans, fault);

  if (!(await pause(res, state.opts.firstByteDelayMs))) return;
  if (mode === 'webhook') {
    msg.status = 'completed';
    return sendJson(res, 200, { message: 'Chat query submitted successfully', data: { sessionId, messageId: msg.id, status: 'processing' } });
  }
  const outcome = syncOutcome(fault, ans);
  switch (outcome.kind) {
    case 'cut':
      msg.status = 'failed';
      state.keyStats(key).failures++;
      return resetSocket(req);
    case 'stall':
      state.keyStats(key).failures++;
      return;
    case 'error':
      msg.status = 'failed';
      return failCall(call, statusForErrorCode(outcome.errorCode), outcome.errorCode, outcome.message);
    case 'answer':
      msg.status = 'completed';
      return sendJson(res, 200, {
        message: 'Chat query submitted successfully',
        data: { sessionId, messageId: msg.id, answer: ans.text, status: 'completed' },
      });
  }
}

function streamAnswer(call: UpstreamCall, msg: MessageRec, ans: SimAnswer, fault: QueryFault | undefined): void {
  const { res, state } = call;
  const o = state.opts;
  const deltas = splitDeltas(ans.text, o.deltas > 0 ? o.deltas : undefined);
  const thinkingDeltas = ans.thinking ? splitDeltas(ans.thinking) : [];
  const inputTokens = ans.inputTokens ?? simTokens(msg.query);
  const outputTokens = ans.outputTokens ?? simTokens(ans.text);
  const planned = Math.round(o.firstByteDelayMs + (deltas.length + thinkingDeltas.length) * o.deltaIntervalMs) / 1000;
  const script = buildScript({
    sessionId: msg.sessionId,
    messageId: msg.id,
    answer: ans.text,
    deltas,
    thinkingDeltas,
    metrics: msg.query.includes(NO_METRICS_MARKER)
      ? undefined
      : { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens, ragTimeSec: 0, fulfillmentTimeSec: planned, totalTimeSec: planned },
  });

  const ending = streamEnding(fault, ans);
  if (ending.kind !== 'done') {
    state.keyStats(call.key).failures++;
    if (ending.kind !== 'stall') msg.status = 'failed';
  }

  const writes = layoutWrites(script, ending, o.firstByteDelayMs, o.deltaIntervalMs, msg.query.includes(UNICODE_MARKER));
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  res.flushHeaders();
  state.stats.openStreams++;
  playStream(res, {
    writes,
    after: ending.kind === 'done' || ending.kind === 'error' ? 'end' : ending.kind,
    heartbeatMs: o.heartbeatMs,
    heartbeat: () => heartbeatFrame(msg.sessionId, msg.id),
    onEnd: (outcome) => {
      // reset() carries openStreams over, so this stays right across a reset
      state.stats.openStreams = Math.max(0, state.stats.openStreams - 1);
      if (outcome === 'aborted') state.stats.abortedStreams++;
      if (outcome === 'finished' && ending.kind === 'done') msg.status = 'completed';
    },
  });
}
