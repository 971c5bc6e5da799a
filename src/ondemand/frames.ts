/**
 * How an OnDemand stream is read (the upstream half of stream translation; docs/ondemand-protocol.md §2).
 *
 * Raw network chunks in, upstream events out. Bytes are decoded as streaming UTF-8 (a character split across
 * chunks survives, invalid bytes become U+FFFD), lines and frames are cut by eventsource-parser (LF, CRLF or
 * lone CR; `data:` with or without a space; comments ignored), and the JSON's `eventType` decides what a frame
 * means, whatever its `event:` line says. Every dispatched frame gives exactly one event; frames that carry
 * nothing for the client (heartbeat, statusLog, planning, unknown types, malformed JSON) give `keepalive`.
 * A plugin call arrives as JSON text cut into `step_output` deltas (§2.7): the parser joins them and, at the
 * frame that completes the JSON, gives one `plugin_call` per plugin in it (more than one only then).
 * Nothing here throws on upstream input.
 */
import { StringDecoder } from 'node:string_decoder';
import { createParser, type EventSourceMessage, type ParseError } from 'eventsource-parser';

export type UpstreamEvent =
  /** eventType fulfillment: a piece of the answer, to append */
  | { type: 'delta'; text: string }
  /** eventType fulfillment_thinking: a piece of the model's reasoning */
  | { type: 'thinking'; text: string }
  /** eventType metricsLog: the only real token usage */
  | { type: 'metrics'; inputTokens: number; outputTokens: number; totalTokens: number }
  /** data:[DONE] */
  | { type: 'done' }
  /** data:[ERROR]..., or our own frame_too_large */
  | { type: 'error'; message: string; errorCode: string | undefined }
  /** step_output frames, joined: the planner called a plugin; `query` is what a search plugin searched for */
  | { type: 'plugin_call'; pluginId: string; name: string; query: string | undefined }
  /** a sign of life that is never content (heartbeats, status, the planner's own text) */
  | { type: 'keepalive' };

export interface FrameParser {
  push(chunk: Uint8Array): UpstreamEvent[];
  /** The stream closed: flush a last frame the upstream did not terminate. Later calls return []. */
  end(): UpstreamEvent[];
}

export interface FrameParserOptions {
  /** the longest line accepted, in bytes (default 4 MiB); a frame of several lines may hold twice that */
  maxFrameBytes?: number;
}

export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;
export const FRAME_TOO_LARGE = 'frame_too_large';

const KEEPALIVE: UpstreamEvent = Object.freeze({ type: 'keepalive' });
const DONE: UpstreamEvent = Object.freeze({ type: 'done' });
const BOM = 0xfeff;
const LF = 10;
const CR = 13;

export function createFrameParser(opts: FrameParserOptions = {}): FrameParser {
  const maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 1) {
    throw new RangeError(`maxFrameBytes must be a positive integer, got ${maxFrameBytes}`);
  }
  // node's StringDecoder, not TextDecoder: the same text, but no C++ object with a weak handle per stream for
  // every young collection to visit (docs/performance.md, "Twelfth round")
  const decoder = new StringDecoder('utf8');
  let atStart = true;
  let state: 'open' | 'overflowed' | 'ended' = 'open';
  /** bytes of the line still open at the end of the last chunk: bounds memory whatever the parser buffers */
  let openLineBytes = 0;
  let out: UpstreamEvent[] = [];
  const steps = createStepJoiner();

  const sse = createParser({
    onEvent: (message: EventSourceMessage) => {
      const data = message.data;
      const event = translateFrame(data);
      // only frames that carry nothing else are looked at for a plugin step: answer deltas never pay for it
      const calls = event === KEEPALIVE && data.includes('step_output') ? steps.push(data) : undefined;
      if (calls !== undefined && calls.length > 0) for (const call of calls) out.push(call);
      else out.push(event);
    },
    onError: (error: ParseError) => {
      if (error.type === 'max-buffer-size-exceeded') overflow();
    },
    // A backstop for many short lines piling up into one frame. Twice the line limit, because the parser may
    // hold a finished line together with the next one (after a chunk ending in a lone CR).
    maxBufferSize: 2 * maxFrameBytes + 1,
  });

  function overflow(): void {
    if (state !== 'open') return;
    state = 'overflowed';
    sse.reset();
    out.push({
      type: 'error',
      message: `upstream sent a frame larger than ${maxFrameBytes} bytes`,
      errorCode: FRAME_TOO_LARGE,
    });
  }

  function feed(bytes: Uint8Array): void {
    let text = decoder.write(bytes);
    // as TextDecoder does by default: a byte order mark at the very start is not text
    if (atStart && text !== '') {
      atStart = false;
      if (text.charCodeAt(0) === BOM) text = text.slice(1);
    }
    if (text !== '' && state === 'open') sse.feed(text);
  }

  /**
   * Where the first line longer than maxFrameBytes starts in this chunk (0 when it began in an earlier chunk),
   * or -1 when every line fits; updates openLineBytes. Counting every line, not just the chunk's tail, makes
   * the outcome independent of how the stream was split.
   */
  function findOversizedLine(chunk: Uint8Array): number {
    const anyCR = chunk.indexOf(CR) !== -1;
    let run = openLineBytes;
    let pos = 0;
    for (;;) {
      const br = anyCR ? nextLineBreak(chunk, pos) : chunk.indexOf(LF, pos);
      run += (br === -1 ? chunk.length : br) - pos;
      if (run > maxFrameBytes) return pos;
      if (br === -1) break;
      run = 0;
      pos = br + 1;
    }
    openLineBytes = run;
    return -1;
  }

  return {
    push(chunk) {
      if (state !== 'open' || chunk.length === 0) return [];
      const events: UpstreamEvent[] = [];
      out = events;
      const cut = findOversizedLine(chunk);
      if (cut === -1) {
        feed(chunk);
      } else {
        // Frames that ended before the oversized line still count; the rest of the stream is ignored.
        if (cut > 0) feed(chunk.subarray(0, cut));
        overflow();
      }
      return events;
    },
    end() {
      if (state !== 'open') {
        state = 'ended';
        return [];
      }
      state = 'ended';
      const events: UpstreamEvent[] = [];
      out = events;
      // The final blank line(s) the upstream may have left out; "\r" + "\n" still counts as one line break.
      sse.feed(`${decoder.end()}\n\n`);
      return events;
    },
  };
}

/**
 * Joins the `output.delta` of `step_output` frames into the plugin call's JSON (`{plugins: [{pluginId, name,
 * api_request_parameters: {query}}]}`, fenced in ```json by some models) and reads it once it is complete.
 * `push` returns the calls at the frame that completes a call, [] for a frame that adds to one, and undefined
 * for a frame that is no step_output after all.
 */
export function createStepJoiner(): { push(data: string): UpstreamEvent[] | undefined } {
  let text = '';
  return {
    push(data) {
      const frame = parseObject(data.trim());
      if (frame === undefined || frame['eventType'] !== 'step_output') return undefined;
      const output = frame['output'];
      const delta = isRecord(output) ? output['delta'] : undefined;
      if (typeof delta !== 'string' || delta === '') return [];
      // a runaway step (no closing brace ever) must not grow without bound
      text = text.length > 1_000_000 ? delta : text + delta;
      if (!delta.includes('}')) return [];
      const calls = readPluginCalls(text);
      if (calls === undefined) return [];
      text = '';
      return calls;
    },
  };
}

/** The calls in a step's JSON text, or undefined while it is not a complete JSON object yet. */
export function readPluginCalls(text: string): UpstreamEvent[] | undefined {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end < start) return undefined;
  const step = parseObject(text.slice(start, end + 1));
  if (step === undefined) return undefined;
  const plugins = Array.isArray(step['plugins']) ? step['plugins'] : [];
  const calls: UpstreamEvent[] = [];
  for (const p of plugins) {
    if (!isRecord(p)) continue;
    const pluginId = nonEmptyString(p['pluginId']) ?? nonEmptyString(p['plugin_id']);
    if (pluginId === undefined) continue;
    const params = p['api_request_parameters'];
    const query = isRecord(params) ? nonEmptyString(params['query']) : undefined;
    calls.push({ type: 'plugin_call', pluginId, name: nonEmptyString(p['name']) ?? pluginId, query });
  }
  return calls;
}

function nextLineBreak(chunk: Uint8Array, from: number): number {
  for (let i = from; i < chunk.length; i++) {
    const b = chunk[i];
    if (b === LF || b === CR) return i;
  }
  return -1;
}

/** One SSE frame's data → one event. */
export function translateFrame(data: string): UpstreamEvent {
  if (data.length === 0) return KEEPALIVE;
  const text = data.charCodeAt(0) === 0x7b /* { */ ? data : data.trim();
  const first = text.charCodeAt(0);
  if (first === 0x5b /* [ */) return translateMarker(text);
  if (first !== 0x7b) return KEEPALIVE;
  // Most frames carry nothing for the client (statusLog repeats the whole answer at the end, heartbeats come
  // every few seconds): skip parsing a frame whose eventType cannot be one we act on. All three names contain
  // "fulfillment" or "metricsLog"; a frame with a \u escape is parsed anyway, as the name could be escaped.
  if (!text.includes('fulfillment') && !text.includes('metricsLog') && !text.includes('\\u')) return KEEPALIVE;
  return translateParsed(text);
}

/** The strict path: JSON.parse, then the frame's eventType. `text` starts with `{`. */
export function translateParsed(text: string): UpstreamEvent {
  const frame = parseObject(text);
  if (frame === undefined) return KEEPALIVE;
  switch (frame['eventType']) {
    case 'fulfillment': {
      const answer = frame['answer'];
      return typeof answer === 'string' && answer !== '' ? { type: 'delta', text: answer } : KEEPALIVE;
    }
    case 'fulfillment_thinking': {
      const thinking = frame['thinking'];
      const delta = isRecord(thinking) ? thinking['delta'] : thinking;
      return typeof delta === 'string' && delta !== '' ? { type: 'thinking', text: delta } : KEEPALIVE;
    }
    case 'metricsLog':
      return translateMetrics(frame['publicMetrics']);
    default:
      // statusLog (its last message repeats the whole answer), planning_*, step_*, unknown types
      return KEEPALIVE;
  }
}

function translateMarker(text: string): UpstreamEvent {
  if (text === '[DONE]') return DONE;
  if (text.length >= 7 && text.slice(0, 7).toUpperCase() === '[ERROR]') return translateError(text.slice(7));
  return KEEPALIVE;
}

/** `rest` follows "[ERROR]": ":{json}", " {json}", ":text" or nothing. */
function translateError(rest: string): UpstreamEvent {
  const detail = rest.replace(/^[\s:]+/, '').trimEnd();
  const fallback = 'upstream reported an error in the stream';
  const body = detail.startsWith('{') ? parseObject(detail) : undefined;
  if (body === undefined) return { type: 'error', message: detail === '' ? fallback : detail, errorCode: undefined };
  const nested = isRecord(body['error']) ? body['error'] : undefined;
  const message = nonEmptyString(body['message']) ?? nonEmptyString(nested?.['message']) ?? nonEmptyString(body['error']) ?? fallback;
  const errorCode = nonEmptyString(body['errorCode']) ?? nonEmptyString(body['code']) ?? nonEmptyString(nested?.['code']);
  return { type: 'error', message, errorCode };
}

function translateMetrics(metrics: unknown): UpstreamEvent {
  if (!isRecord(metrics)) return KEEPALIVE;
  const inputTokens = tokenCount(metrics['inputTokens']);
  const outputTokens = tokenCount(metrics['outputTokens']);
  if (inputTokens === undefined || outputTokens === undefined) return KEEPALIVE;
  const totalTokens = tokenCount(metrics['totalTokens']) ?? inputTokens + outputTokens;
  return { type: 'metrics', inputTokens, outputTokens, totalTokens };
}

/** A count sent as a number or a numeric string; anything else is no count. */
function tokenCount(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(n) && n >= 0 ? Math.round(n) : undefined;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
