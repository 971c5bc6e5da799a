/**
 * How an OnDemand stream is read (the upstream half of stream translation; ondemand-api.md section 3).
 *
 * Raw network chunks in, upstream events out. Bytes are decoded as streaming UTF-8 (a character split across
 * chunks survives, invalid bytes become U+FFFD), lines and frames are cut by eventsource-parser (LF, CRLF or
 * lone CR; `data:` with or without a space; comments ignored), and the JSON's `eventType` decides what a frame
 * means, whatever its `event:` line says. Every dispatched frame gives exactly one event; frames that carry
 * nothing for the client (heartbeat, statusLog, planning, unknown types, malformed JSON) give `keepalive`.
 * Nothing here throws on upstream input.
 */
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
  /** a sign of life that is never content */
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
const DECODE_STREAM = Object.freeze({ stream: true });
const LF = 10;
const CR = 13;

export function createFrameParser(opts: FrameParserOptions = {}): FrameParser {
  const maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 1) {
    throw new RangeError(`maxFrameBytes must be a positive integer, got ${maxFrameBytes}`);
  }
  const decoder = new TextDecoder('utf-8', { fatal: false });
  let state: 'open' | 'overflowed' | 'ended' = 'open';
  /** bytes of the line still open at the end of the last chunk: bounds memory whatever the parser buffers */
  let openLineBytes = 0;
  let out: UpstreamEvent[] = [];

  const sse = createParser({
    onEvent: (message: EventSourceMessage) => {
      out.push(translateFrame(message.data));
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
    const text = decoder.decode(bytes, DECODE_STREAM);
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
      sse.feed(`${decoder.decode()}\n\n`);
      return events;
    },
  };
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
  // A flat, compact object (every delta frame) is read without building it; anything else is parsed in full.
  return translateFlatObject(text) ?? translateParsed(text);
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

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const CLOSE = 0x7d;
const FIELD_OTHER = 0;
const FIELD_EVENT_TYPE = 1;
const FIELD_ANSWER = 2;
const FIELD_THINKING = 3;
/** where the last readString/skipValue stopped (one past the value); module state, the parser is synchronous */
let scanEnd = 0;

/**
 * The fast path: `text` (starting with `{`) read as a JSON object whose values are all strings, numbers, true,
 * false or null, written without whitespace and with plain (unescaped) keys, which is how the upstream writes
 * its frames. Gives the event JSON.parse + translateParsed would give, or undefined whenever the text is anything
 * else (nested values, whitespace, an escaped key, anything malformed): the caller then parses it in full. Only
 * valid JSON is accepted (strings are checked for control characters and bad escapes, numbers against the
 * grammar), and a repeated key keeps its last value, as in JSON.parse.
 */
export function translateFlatObject(text: string): UpstreamEvent | undefined {
  const n = text.length;
  let eventType: string | undefined;
  let answer: string | undefined;
  let thinking: string | undefined;
  let i = 1;
  if (text.charCodeAt(1) === CLOSE) {
    i = 2;
  } else {
    for (;;) {
      if (text.charCodeAt(i) !== QUOTE) return undefined;
      const keyStart = i + 1;
      let j = keyStart;
      for (; j < n; j++) {
        const c = text.charCodeAt(j);
        if (c === QUOTE) break;
        if (c === BACKSLASH || c < 0x20) return undefined;
      }
      if (j >= n || text.charCodeAt(j + 1) !== COLON) return undefined;
      const keyLength = j - keyStart;
      const field =
        keyLength === 9 && text.startsWith('eventType', keyStart)
          ? FIELD_EVENT_TYPE
          : keyLength === 6 && text.startsWith('answer', keyStart)
            ? FIELD_ANSWER
            : keyLength === 8 && text.startsWith('thinking', keyStart)
              ? FIELD_THINKING
              : FIELD_OTHER;
      i = j + 2;
      if (text.charCodeAt(i) === QUOTE) {
        const value = readString(text, i + 1, field !== FIELD_OTHER);
        if (value === undefined) return undefined;
        if (field === FIELD_EVENT_TYPE) eventType = value;
        else if (field === FIELD_ANSWER) answer = value;
        else if (field === FIELD_THINKING) thinking = value;
      } else {
        if (!skipScalar(text, i)) return undefined;
        // a number, true, false or null: not a string, whatever an earlier duplicate said
        if (field === FIELD_EVENT_TYPE) eventType = undefined;
        else if (field === FIELD_ANSWER) answer = undefined;
        else if (field === FIELD_THINKING) thinking = undefined;
      }
      i = scanEnd;
      const c = text.charCodeAt(i);
      if (c === COMMA) {
        i++;
        continue;
      }
      if (c !== CLOSE) return undefined;
      i++;
      break;
    }
  }
  if (i !== n) return undefined;
  switch (eventType) {
    case 'fulfillment':
      return answer !== undefined && answer !== '' ? { type: 'delta', text: answer } : KEEPALIVE;
    case 'fulfillment_thinking':
      return thinking !== undefined && thinking !== '' ? { type: 'thinking', text: thinking } : KEEPALIVE;
    default:
      // metricsLog without a publicMetrics object, statusLog, unknown types, no eventType
      return KEEPALIVE;
  }
}

/**
 * A JSON string whose opening quote is just before `start`: its value ('' when `decode` is false, to save the
 * copy), or undefined if it is not valid JSON. Sets scanEnd past the closing quote.
 */
function readString(text: string, start: number, decode: boolean): string | undefined {
  const n = text.length;
  let i = start;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      scanEnd = i + 1;
      return decode ? text.slice(start, i) : '';
    }
    if (c === BACKSLASH) break;
    if (c < 0x20) return undefined;
  }
  if (i >= n) return undefined;
  // escapes: decode piece by piece
  let out = decode ? text.slice(start, i) : '';
  let runStart = i;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      scanEnd = i + 1;
      return decode ? out + text.slice(runStart, i) : '';
    }
    if (c < 0x20) return undefined;
    if (c !== BACKSLASH) {
      i++;
      continue;
    }
    if (decode) out += text.slice(runStart, i);
    const e = text.charCodeAt(i + 1);
    let ch: string;
    switch (e) {
      case QUOTE:
        ch = '"';
        break;
      case BACKSLASH:
        ch = '\\';
        break;
      case 0x2f:
        ch = '/';
        break;
      case 0x62:
        ch = '\b';
        break;
      case 0x66:
        ch = '\f';
        break;
      case 0x6e:
        ch = '\n';
        break;
      case 0x72:
        ch = '\r';
        break;
      case 0x74:
        ch = '\t';
        break;
      case 0x75: {
        let code = 0;
        for (let k = i + 2; k < i + 6; k++) {
          const h = hexValue(text.charCodeAt(k));
          if (h < 0) return undefined;
          code = code * 16 + h;
        }
        ch = String.fromCharCode(code);
        i += 4;
        break;
      }
      default:
        return undefined;
    }
    if (decode) out += ch;
    i += 2;
    runStart = i;
  }
  return undefined;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** A JSON number, true, false or null starting at `start`; sets scanEnd past it. Objects and arrays are refused. */
function skipScalar(text: string, start: number): boolean {
  let i = start;
  let c = text.charCodeAt(i);
  if (c === 0x74 /* t */ || c === 0x66 /* f */ || c === 0x6e /* n */) {
    const word = c === 0x74 ? 'true' : c === 0x66 ? 'false' : 'null';
    if (!text.startsWith(word, i)) return false;
    scanEnd = i + word.length;
    return true;
  }
  if (c === 0x2d /* - */) c = text.charCodeAt(++i);
  if (c === 0x30) {
    i++;
  } else if (c >= 0x31 && c <= 0x39) {
    i++;
    while (isDigit(text.charCodeAt(i))) i++;
  } else {
    return false;
  }
  if (text.charCodeAt(i) === 0x2e /* . */) {
    i++;
    if (!isDigit(text.charCodeAt(i))) return false;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  c = text.charCodeAt(i);
  if (c === 0x65 || c === 0x45 /* e E */) {
    c = text.charCodeAt(++i);
    if (c === 0x2b || c === 0x2d /* + - */) i++;
    if (!isDigit(text.charCodeAt(i))) return false;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  scanEnd = i;
  return true;
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
  const message =
    nonEmptyString(body['message']) ?? nonEmptyString(nested?.['message']) ?? nonEmptyString(body['error']) ?? fallback;
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
