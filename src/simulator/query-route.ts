/**
 * The query route: checks the body, asks the answer function, records the message, then answers in the
 * response mode asked for (a stream of frames, one sync JSON answer, or a webhook acknowledgement), ended the
 * way the key's query fault or the answer's own error says.
 */
import { NO_METRICS_MARKER, UNICODE_MARKER, simTokens, splitDeltas } from './answer.js';
import { streamEnding, syncOutcome, type QueryFault } from './faults.js';
import { buildScript, heartbeatFrame, layoutWrites, type StreamScript } from './frames.js';
import { CaptureFrames, buildPluginScript } from './plugin-frames.js';
import {
  PLUGIN_HEARTBEAT_MS,
  PLUGIN_STREAM_TIMEOUT_MARKER,
  PLUGIN_TIMEOUT_ERROR_CODE,
  PLUGIN_TIMEOUT_MARKER,
  PLUGIN_TIMEOUT_MESSAGE,
  effectivePluginIds,
  searchQueryFor,
  unknownPluginId,
} from './plugins.js';
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

  // The query's pluginIds replace the session's; fulfillmentOnly skips plugins (docs/ondemand-protocol.md §6).
  const pluginIds = effectivePluginIds(body['pluginIds'], s.pluginIds);
  const unknown = unknownPluginId(pluginIds);
  if (unknown !== undefined) return failCall(call, 400, 'invalid_request', `Invalid pluginId: ${unknown}`);
  const plugins = body['fulfillmentOnly'] === true || body['onlyFulfillment'] === true ? [] : pluginIds;

  if (s.messages.length > 0) state.stats.sessionsReused++;
  if (s.ownerKey !== key) state.stats.crossKeyQueries++;

  // A plugin run past the time limit: 504 once the plugins gave up (the stream variant fails inside the stream).
  if (plugins.length > 0 && query.includes(PLUGIN_TIMEOUT_MARKER) && !(mode === 'stream' && query.includes(PLUGIN_STREAM_TIMEOUT_MARKER))) {
    if (!(await pause(res, state.opts.firstByteDelayMs + state.opts.pluginDelayMs))) return;
    return failCall(call, 504, PLUGIN_TIMEOUT_ERROR_CODE, PLUGIN_TIMEOUT_MESSAGE);
  }

  const ctx: AnswerContext = {
    query,
    endpointId,
    sessionId,
    history: s.messages.flatMap((m) => [m.query, m.answer]),
    media: s.media.map((m) => m.name),
  };
  if (typeof body['reasoningEffort'] === 'string') ctx.reasoningEffort = body['reasoningEffort'];
  if (plugins.length > 0) ctx.pluginIds = plugins;
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

  if (mode === 'stream') return streamAnswer(call, msg, ans, fault, plugins);

  if (!(await pause(res, state.opts.firstByteDelayMs + (plugins.length > 0 ? state.opts.pluginDelayMs : 0)))) return;
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

function streamAnswer(call: UpstreamCall, msg: MessageRec, ans: SimAnswer, fault: QueryFault | undefined, plugins: string[]): void {
  const { res, state } = call;
  const o = state.opts;
  const deltas = splitDeltas(ans.text, o.deltas > 0 ? o.deltas : undefined);
  const thinkingDeltas = ans.thinking ? splitDeltas(ans.thinking) : [];
  const inputTokens = ans.inputTokens ?? simTokens(msg.query);
  const outputTokens = ans.outputTokens ?? simTokens(ans.text);
  const planned = Math.round(o.firstByteDelayMs + (deltas.length + thinkingDeltas.length) * o.deltaIntervalMs) / 1000;
  const ragTimeSec = plugins.length > 0 ? o.pluginDelayMs / 1000 : 0;
  const metrics = msg.query.includes(NO_METRICS_MARKER)
    ? undefined
    : {
        inputTokens,
        outputTokens,
        totalTokens: inputTokens + outputTokens,
        ragTimeSec,
        fulfillmentTimeSec: planned,
        totalTimeSec: ragTimeSec === 0 ? planned : Math.round((planned + ragTimeSec) * 1000) / 1000,
      };
  const timeout = plugins.length > 0 && msg.query.includes(PLUGIN_STREAM_TIMEOUT_MARKER);
  const scriptInput = { sessionId: msg.sessionId, messageId: msg.id, answer: ans.text, deltas, thinkingDeltas, metrics };
  const script: StreamScript =
    plugins.length > 0
      ? buildPluginScript({ ...scriptInput, search: searchQueryFor(msg.query), pluginIds: plugins, pluginDelayMs: o.pluginDelayMs, timeout })
      : buildScript(scriptInput);

  const ending = streamEnding(fault, ans);
  const failed = ending.kind !== 'done' || timeout;
  if (failed) {
    state.keyStats(call.key).failures++;
    if (ending.kind !== 'stall') msg.status = 'failed';
  }

  const writes = layoutWrites(script, ending, o.firstByteDelayMs, o.deltaIntervalMs, msg.query.includes(UNICODE_MARKER));
  const captureFrames = new CaptureFrames(msg.sessionId, msg.id);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  res.flushHeaders();
  state.stats.openStreams++;
  playStream(res, {
    writes,
    after: ending.kind === 'done' || ending.kind === 'error' ? 'end' : ending.kind,
    heartbeatMs: plugins.length > 0 && o.heartbeatMs === 0 ? PLUGIN_HEARTBEAT_MS : o.heartbeatMs,
    heartbeat: plugins.length > 0 ? () => captureFrames.heartbeat() : () => heartbeatFrame(msg.sessionId, msg.id),
    onEnd: (outcome) => {
      // reset() carries openStreams over, so this stays right across a reset
      state.stats.openStreams = Math.max(0, state.stats.openStreams - 1);
      if (outcome === 'aborted') state.stats.abortedStreams++;
      if (outcome === 'finished' && !failed) msg.status = 'completed';
    },
  });
}
