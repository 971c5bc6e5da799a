/**
 * The frames of a plugin run, written the way the captured live streams write them (docs/ondemand-protocol.md
 * §2.1–§2.7): field order as captured; `fulfillment` frames with a space after colons and commas (none before
 * `eventIndex`'s number) and non-ASCII as `\uXXXX`; every other frame compact, non-ASCII raw and `<`, `>`, `&`
 * escaped; `eventIndex` counted per `event:` channel; `status: "processing"` on every frame; times to the second.
 * Streams without plugins keep the simulator's own frames (./frames.ts).
 */
import { errorFrame, type StreamScript } from './frames.js';
import { PLANNING_THINKING_TEXT, PLUGIN_TIMEOUT_ERROR_CODE, PLUGIN_TIMEOUT_MESSAGE, INTERNET_SEARCH_PLUGIN_ID, pluginCallJson, pluginPlanJson } from './plugins.js';

/** Characters per planner and plugin-call delta (the captures show about 30). */
export const PLUGIN_DELTA_CHARS = 32;

/** Compact JSON as the live service writes its compact frames: `<`, `>`, `&`, U+2028 and U+2029 escaped. */
export function compactJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A JSON string with every character past ASCII as `\uXXXX` (lower-case hex), as the fulfillment frames write it. */
export function asciiJsonString(s: string): string {
  return JSON.stringify(s).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** An ISO time to the second, as the captures write it: `2026-07-17T16:43:51Z`. */
export function captureTime(d = new Date()): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

const sse = (event: string | undefined, data: string): string => `${event === undefined ? '' : `event:${event}\n`}data:${data}\n\n`;

/** Builds the frames of one plugin run, keeping the two `eventIndex` counters. */
export class CaptureFrames {
  private thinkingIndex = 0;
  private messageIndex = 0;

  constructor(
    private readonly sessionId: string,
    private readonly messageId: string,
  ) {}

  heartbeat(time = captureTime()): string {
    return sse('heartbeat', compactJson({ sessionId: this.sessionId, messageId: this.messageId, time }));
  }

  /** A frame of the thinking channel: planning_thinking, step_thinking, fulfillment_thinking (`thinking`) or planning_output, step_output (`output`). */
  thinking(eventType: string, delta: string): string {
    const field = eventType.endsWith('_output') ? 'output' : 'thinking';
    return sse(
      'thinking',
      compactJson({ sessionId: this.sessionId, messageId: this.messageId, eventIndex: ++this.thinkingIndex, eventType, status: 'processing', [field]: { delta } }),
    );
  }

  statusLog(statusType: string, statusMessage: string, answer?: string, time = captureTime()): string {
    const currentStatusLog = answer === undefined ? { statusType, statusMessage, time } : { statusType, statusMessage, answer, time };
    return sse(
      'message',
      compactJson({ sessionId: this.sessionId, messageId: this.messageId, eventIndex: ++this.messageIndex, eventType: 'statusLog', status: 'processing', currentStatusLog }),
    );
  }

  fulfillment(answer: string): string {
    const data = `{"sessionId": ${asciiJsonString(this.sessionId)}, "messageId": ${asciiJsonString(this.messageId)}, "answer": ${asciiJsonString(answer)}, "status": "processing", "eventIndex":${++this.messageIndex}, "eventType": "fulfillment"}`;
    return sse('message', data);
  }

  metricsLog(publicMetrics: PublicMetrics): string {
    return sse(
      'message',
      compactJson({ sessionId: this.sessionId, messageId: this.messageId, eventIndex: ++this.messageIndex, eventType: 'metricsLog', status: 'processing', publicMetrics }),
    );
  }

  done(): string {
    return sse('message', '[DONE]');
  }
}

export interface PublicMetrics {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  ragTimeSec: number;
  fulfillmentTimeSec: number;
  totalTimeSec: number;
}

/** Text cut into pieces of `size` code points (the last one shorter); an empty text gives no pieces. */
export function chunkText(text: string, size = PLUGIN_DELTA_CHARS): string[] {
  const cps = Array.from(text);
  const out: string[] = [];
  for (let i = 0; i < cps.length; i += size) out.push(cps.slice(i, i + size).join(''));
  return out;
}

export interface PluginScriptInput {
  sessionId: string;
  messageId: string;
  /** the web search the plugin call carries */
  search: string;
  /** the plugins the run calls (known ids) */
  pluginIds: readonly string[];
  answer: string;
  deltas: string[];
  thinkingDeltas: string[];
  /** undefined: no metricsLog frame */
  metrics: PublicMetrics | undefined;
  /** pause between the plugin call and the answer (the plugin running), ms */
  pluginDelayMs: number;
  /** the plugin run times out: the error frame follows the plugin call and the stream ends */
  timeout?: boolean;
}

/**
 * The frames of a plugin run, in the captured order: a heartbeat; planning_thinking deltas, planning_output deltas
 * (the plan), an empty delta of each; step_output deltas (the plugin call), an empty step_thinking and step_output;
 * after the plugin delay the `fulfilling` statusLog, the model's reasoning, the answer deltas; the
 * `fulfillment_completed` statusLog repeating the answer, metricsLog, a heartbeat and `event:message` `data:[DONE]`.
 */
export function buildPluginScript(s: PluginScriptInput): StreamScript {
  const f = new CaptureFrames(s.sessionId, s.messageId);
  const ids = s.pluginIds.length > 0 ? s.pluginIds : [INTERNET_SEARCH_PLUGIN_ID];
  const frames = [
    ...chunkText(PLANNING_THINKING_TEXT).map((d) => f.thinking('planning_thinking', d)),
    ...chunkText(pluginPlanJson(s.search, ids)).map((d) => f.thinking('planning_output', d)),
    f.thinking('planning_thinking', ''),
    f.thinking('planning_output', ''),
    ...chunkText(pluginCallJson(s.search, ids)).map((d) => f.thinking('step_output', d)),
    f.thinking('step_thinking', ''),
    f.thinking('step_output', ''),
  ];
  const head = [f.heartbeat()];
  if (s.timeout) {
    return { head, thinking: [], deltas: [], tail: [], plugin: { frames, delayMs: s.pluginDelayMs, afterDelay: [errorFrame(PLUGIN_TIMEOUT_MESSAGE, PLUGIN_TIMEOUT_ERROR_CODE)] } };
  }
  const afterDelay = [f.statusLog('fulfilling', 'Fulfilling the prompt...')];
  const thinking = s.thinkingDeltas.map((d) => f.thinking('fulfillment_thinking', d));
  if (thinking.length > 0) thinking.push(f.thinking('fulfillment_thinking', ''));
  const deltas = s.deltas.map((d) => f.fulfillment(d));
  const tail = [f.statusLog('fulfillment_completed', 'Fulfillment completed', s.answer)];
  if (s.metrics) tail.push(f.metricsLog(s.metrics));
  tail.push(f.heartbeat(), f.done());
  return { head, thinking, deltas, tail, plugin: { frames, delayMs: s.pluginDelayMs, afterDelay } };
}
