/**
 * The OnDemand stream wire format: `event:<name>\ndata:<json>\n\n`, no space after
 * `data:`, `data:[DONE]\n\n` at the end, `data:[ERROR]:{"message","errorCode"}\n\n` for an in-stream error.
 * Everything for one stream is built once, when it starts; the runner only writes ready buffers.
 */

export const DONE_FRAME = 'data:[DONE]\n\n';

/** Gap between the two halves of a frame in split-multibyte mode (SIM_UNICODE). */
export const SPLIT_GAP_MS = 5;

export function frame(event: string, data: unknown): string {
  return `event:${event}\ndata:${JSON.stringify(data)}\n\n`;
}

export function errorFrame(message: string, errorCode: string): string {
  return `data:[ERROR]:${JSON.stringify({ message, errorCode })}\n\n`;
}

export function heartbeatFrame(sessionId: string, messageId: string, time = new Date().toISOString()): string {
  return frame('heartbeat', { sessionId, messageId, time });
}

export interface StreamScriptInput {
  sessionId: string;
  messageId: string;
  answer: string;
  deltas: string[];
  thinkingDeltas: string[];
  /** undefined: no metricsLog frame */
  metrics: { inputTokens: number; outputTokens: number; totalTokens: number; ragTimeSec: number; fulfillmentTimeSec: number; totalTimeSec: number } | undefined;
}

/** The frames of one stream, grouped by when they are sent. */
export interface StreamScript {
  /** opening heartbeat + statusLog frames */
  head: string[];
  /** one fulfillment_thinking frame per thinking delta */
  thinking: string[];
  /** one fulfillment frame per delta */
  deltas: string[];
  /** final statusLog (repeats the whole answer), metricsLog, [DONE] */
  tail: string[];
  /** a plugin run (./plugin-frames.ts): its frames come one by one after the head, then `afterDelay` after `delayMs` */
  plugin?: { frames: string[]; delayMs: number; afterDelay: string[] };
}

export function buildScript(s: StreamScriptInput): StreamScript {
  const { sessionId, messageId } = s;
  const now = new Date().toISOString();
  const status = (eventIndex: number, statusType: string, statusMessage: string): string =>
    frame('message', {
      eventType: 'statusLog',
      currentStatusLog: { statusType, statusMessage, time: now },
      sessionId,
      messageId,
      eventIndex,
    });
  const head = [heartbeatFrame(sessionId, messageId, now), status(1, 'queryReceived', 'Query received, processing'), status(2, 'fulfillmentStarted', 'Generating the answer')];
  const thinking = s.thinkingDeltas.map((delta, i) => frame('thinking', { eventType: 'fulfillment_thinking', thinking: { delta }, sessionId, messageId, eventIndex: i + 1 }));
  const deltas = s.deltas.map((answer, i) => frame('message', { eventType: 'fulfillment', answer, sessionId, messageId, status: 'processing', eventIndex: i + 1 }));
  const tail = [status(3, 'completed', s.answer)];
  if (s.metrics) tail.push(frame('message', { eventType: 'metricsLog', publicMetrics: s.metrics, sessionId, messageId, eventIndex: 1 }));
  tail.push(DONE_FRAME);
  return { head, thinking, deltas, tail };
}

/** How a scripted stream ends. */
export type StreamEnding =
  | { kind: 'done' }
  /** N deltas, then the error frame, then a clean end */
  | { kind: 'error'; afterDeltas: number; frame: string }
  /** N deltas, then the socket is destroyed */
  | { kind: 'cut'; afterDeltas: number }
  /** N deltas, then silence with the socket open */
  | { kind: 'stall'; afterDeltas: number };

export interface StreamWrite {
  data: Buffer;
  /** ms to wait after the previous write (after the stream start for the first one) */
  gap: number;
  /** this write ends inside a frame: no heartbeat may be written before the next write */
  midFrame: boolean;
}

/**
 * Lay the script out as timed socket writes: the head after `firstDelayMs`, then one thinking or fulfillment frame
 * every `intervalMs` (in a plugin run, first its planner and plugin-call frames, then `plugin.afterDelay` after `plugin.delayMs`); the tail (or error frame) goes with the last delta. With `splitMultibyte`, every frame is written
 * in two halves (SPLIT_GAP_MS apart) cut inside a multi-byte UTF-8 character when it has one.
 */
export function layoutWrites(script: StreamScript, ending: StreamEnding, firstDelayMs: number, intervalMs: number, splitMultibyte = false): StreamWrite[] {
  const n = ending.kind === 'done' ? script.deltas.length : Math.min(ending.afterDeltas, script.deltas.length);
  const one = (f: string): Step => ({ frames: [f], gap: intervalMs });
  const steps: Step[] = [{ frames: script.head, gap: firstDelayMs }];
  if (script.plugin) steps.push(...script.plugin.frames.map(one), { frames: script.plugin.afterDelay, gap: script.plugin.delayMs });
  steps.push(...script.thinking.map(one), ...script.deltas.slice(0, n).map(one));
  const last = steps[steps.length - 1]!;
  if (ending.kind === 'done') last.frames = [...last.frames, ...script.tail];
  else if (ending.kind === 'error') last.frames = [...last.frames, ending.frame];

  const writes: StreamWrite[] = [];
  steps.forEach(({ frames, gap }) => {
    if (!splitMultibyte) {
      writes.push({ data: Buffer.from(frames.join('')), gap, midFrame: false });
      return;
    }
    frames.forEach((f, j) => {
      const buf = Buffer.from(f);
      const at = splitPoint(buf);
      writes.push({ data: buf.subarray(0, at), gap: j === 0 ? gap : 0, midFrame: true });
      writes.push({ data: buf.subarray(at), gap: SPLIT_GAP_MS, midFrame: false });
    });
  });
  return writes;
}

interface Step {
  frames: string[];
  /** ms after the previous step */
  gap: number;
}

/** A byte offset that falls inside the first multi-byte UTF-8 character of buf (else the middle). */
export function splitPoint(buf: Buffer): number {
  for (let i = 0; i < buf.length; i++) {
    if (buf[i]! >= 0xc0) return i + 1;
  }
  return Math.max(1, Math.floor(buf.length / 2));
}
