/**
 * Tool calls, emulated, half two: the model's text answer → GatewayEvents with tool calls. It sits between the
 * engine's events and every front end (the engine's tool stage, src/core/answer.ts), so chat completions,
 * Responses and Anthropic Messages all get the same behaviour.
 *
 * What counts as calls (docs/tools.md): a block of `<tool_call …>` tags that starts at the start of a line (after
 * any text, or after a ``` fence line) and runs to the end of the answer with nothing but whitespace and fences
 * between and after the calls. A tag in mid-line, or calls followed by more text, are the model writing about
 * the notation (an agent reading this very file), not calling: the answer is text.
 *
 * Streaming rule: text passes through at once, except a line that may open a call, which is held back until it
 * is decided. Once a call has opened, the rest of the answer is held to the end, then parsed as a whole: valid
 * calls become one `tool_calls` event and the answer ends with finish reason `tool_calls`; an answer that is not
 * a valid call block is returned as plain text, unchanged.
 */
import { randomToken } from '../../runtime/random-id.js';
import type { EventFilter } from '../events.js';
import type { FinishReason, GatewayEvent, ToolCall, ToolSpec } from '../types.js';
import { validateSchema } from './schema.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const OPEN = '<tool_call';
const CLOSE = '</tool_call>';
const CLOSE_LIST = '</tool_calls>';
/** a fence line longer than this is not a fence opener (keeps the held-back prefix short) */
const MAX_FENCE_INFO = 32;

/** A call of a function tool (JSON arguments) or of a freeform tool (its plain-text input). */
export type ParsedCall = { name: string; arguments: Json } | { name: string; input: string };

export type ToolAnswer = { ok: true; calls: ParsedCall[] } | { ok: false; reason: string };

// ---- deciding whether a line opens a tool call ----------------------------------------------------------------

/**
 * Whether `s` (a line from its first non-blank character on) opens a tool call: 'yes' once `<tool_call` is
 * followed by `>`, `s` or whitespace (after an optional ``` fence line), 'maybe' while `s` is still a prefix of
 * such an opening, 'no' as soon as it cannot be one.
 */
export function opensToolCall(s: string): 'yes' | 'maybe' | 'no' {
  let j = 0;
  if (s.startsWith('`')) {
    if (!'```'.startsWith(s.slice(0, 3))) return 'no';
    if (s.length < 3) return 'maybe';
    j = 3;
    while (j < s.length && /[\w.+-]/.test(s[j] as string)) j++;
    while (j < s.length && (s[j] === ' ' || s[j] === '\t')) j++;
    if (j > 3 + MAX_FENCE_INFO) return 'no';
    if (s[j] === '\r') j++;
    if (j >= s.length) return 'maybe';
    if (s[j] !== '\n') return 'no';
    j++;
    const blankEnd = j + MAX_FENCE_INFO;
    while (j < s.length && /\s/.test(s[j] as string)) if (++j > blankEnd) return 'no';
    if (j >= s.length) return 'maybe';
  }
  const rest = s.slice(j, j + OPEN.length + 2);
  if (rest.length <= OPEN.length) return OPEN.startsWith(rest) ? 'maybe' : 'no';
  if (!rest.startsWith(OPEN)) return 'no';
  const next = rest[OPEN.length] as string;
  if (next === '>' || /\s/.test(next)) return 'yes';
  if (next !== 's') return 'no';
  if (rest.length === OPEN.length + 1) return 'maybe';
  const after = rest[OPEN.length + 1] as string;
  return after === '>' || /\s/.test(after) ? 'yes' : 'no';
}

// ---- parsing a held answer ------------------------------------------------------------------------------------

class Malformed extends Error {}

function fail(reason: string): never {
  throw new Malformed(reason);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    return fail(`${what} is not valid JSON (${(err as Error).message})`);
  }
}

/**
 * Where the JSON value starting at `i` ends (exclusive), found by its brackets and strings, so a `</tool_call>`
 * or a `>` inside a string (an apply_patch body, a heredoc, this parser's source) cannot end it; -1 when the
 * text ends first. Whether the value is valid JSON is JSON.parse's call.
 */
export function jsonValueEnd(text: string, i: number): number {
  const first = text[i];
  if (first === '"') return stringEnd(text, i);
  if (first !== '{' && first !== '[') {
    let j = i;
    while (j < text.length && !/[\s<,\]}]/.test(text[j] as string)) j++;
    return j;
  }
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    const ch = text[j];
    if (ch === '"') {
      j = stringEnd(text, j) - 1;
      if (j < 0) return -1;
    } else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') {
      depth--;
      if (depth === 0) return j + 1;
    }
  }
  return -1;
}

/** the end (exclusive) of the JSON string opening at `i`, -1 when unterminated */
function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    const ch = text[j];
    if (ch === '\\') j++;
    else if (ch === '"') return j + 1;
  }
  return -1;
}

/** Arguments as an object; a JSON string holding an object is accepted (repair), absent means {}. */
function readArguments(value: unknown, name: string): Json {
  if (value === undefined || value === null) return {};
  const parsed = typeof value === 'string' ? (value.trim() === '' ? {} : parseJson(value, `the arguments of "${name}"`)) : value;
  if (!isObject(parsed)) return fail(`the arguments of "${name}" are not a JSON object`);
  return parsed;
}

/** One call written as an object: {name, arguments} (also `parameters`/`input`, or OpenAI's {function:{...}}). */
function readCallObject(item: unknown, tools: readonly ToolSpec[]): ParsedCall {
  if (!isObject(item)) return fail('a tool call is not a JSON object');
  const fn = isObject(item.function) ? item.function : item;
  const name = fn.name;
  if (typeof name !== 'string' || name === '') return fail('a tool call has no name');
  const raw = fn.arguments ?? fn.parameters ?? fn.input;
  if (findTool(tools, name)?.freeform !== undefined && typeof raw === 'string') return { name, input: raw };
  return { name, arguments: readArguments(raw, name) };
}

const ENTITIES: Record<string, string> = { '&quot;': '"', '&amp;': '&', '&lt;': '<', '&gt;': '>', '&apos;': "'" };

function attribute(attrs: string, key: string): string | undefined {
  const m = new RegExp(`(?:^|\\s)${key}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`).exec(attrs);
  const raw = m?.[1] ?? m?.[2];
  return raw?.replace(/&(?:quot|amp|lt|gt|apos);/g, (e) => ENTITIES[e] ?? e);
}

const findTool = (tools: readonly ToolSpec[], name: string): ToolSpec | undefined => tools.find((t) => t.name === name);

/** a ``` fence line wrapping a freeform input whole (the model was told not to; removing it cannot change the input) */
const WHOLE_FENCE = /^```[\w.+-]*[ \t]*\r?\n([\s\S]*?)\r?\n[ \t]*```[ \t]*$/;
/** the line that closes a freeform call: `</tool_call>` at the start of a line */
const CLOSING_LINE = /\r?\n[ \t]*<\/tool_call>/g;

/** A cursor over a held answer: the call block's grammar, one piece at a time. */
class CallBlockReader {
  pos = 0;
  constructor(
    private readonly text: string,
    private readonly tools: readonly ToolSpec[],
  ) {}

  /** Every call of the block, or Malformed with the reason the text is not one. */
  calls(): ParsedCall[] {
    const calls: ParsedCall[] = [];
    for (;;) {
      this.skipSpace();
      if (this.atEnd()) break;
      if (this.fenceCloser() || this.fenceOpener() || this.turnCloser()) continue;
      if (!this.text.startsWith(OPEN, this.pos)) fail(calls.length === 0 ? 'no tool call found' : 'text follows the tool calls');
      calls.push(...this.call());
    }
    if (calls.length === 0) fail('no tool call found');
    return calls;
  }

  private atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos] as string)) this.pos++;
  }

  /** ```info at the cursor, up to and with its line break */
  private fenceOpener(): boolean {
    const m = /^```[\w.+-]{0,32}[ \t]*\r?\n/.exec(this.text.slice(this.pos, this.pos + 48));
    if (m === null) return false;
    this.pos += m[0].length;
    return true;
  }

  /** ``` alone on its line at the cursor */
  private fenceCloser(): boolean {
    const m = /^```[ \t]*(?:\r?\n|$)/.exec(this.text.slice(this.pos, this.pos + 16));
    if (m === null) return false;
    this.pos += m[0].length;
    return true;
  }

  /** `</assistant>` alone on its line: a model continuing the transcript may close its turn after the calls */
  private turnCloser(): boolean {
    const m = /^<\/assistant>[ \t]*(?:\r?\n|$)/i.exec(this.text.slice(this.pos, this.pos + 24));
    if (m === null) return false;
    this.pos += m[0].length;
    return true;
  }

  /** One `<tool_call …>` or `<tool_calls>` tag and its body, from the cursor. */
  private call(): ParsedCall[] {
    const start = this.pos;
    const tagEnd = this.tagEnd(start);
    const plural = this.text[start + OPEN.length] === 's';
    const tagName = plural ? 'tool_calls' : 'tool_call';
    const attrs = this.text.slice(start + 1 + tagName.length, tagEnd);
    if (attrs !== '' && !/^\s/.test(attrs)) fail(`unknown tag <${this.text.slice(start + 1, tagEnd)}>`);
    this.pos = tagEnd + 1;
    if (plural) {
      const value = this.jsonBody(CLOSE_LIST, 'the <tool_calls> block');
      if (value === undefined) fail('the <tool_calls> block is empty');
      return (Array.isArray(value) ? value : [value]).map((item) => readCallObject(item, this.tools));
    }
    const name = attribute(attrs, 'name');
    if (name === '') fail('a tool call has an empty name');
    if (name === undefined) {
      const value = this.jsonBody(CLOSE, 'the tool call');
      return [readCallObject(value, this.tools)];
    }
    if (findTool(this.tools, name)?.freeform !== undefined) return [{ name, input: this.rawBody() }];
    let args: unknown = this.jsonBody(CLOSE, `the arguments of "${name}"`);
    // repair: the whole call object inside a named tag
    if (isObject(args) && args.name === name && 'arguments' in args && Object.keys(args).length === 2) args = args.arguments;
    return [{ name, arguments: readArguments(args, name) }];
  }

  /** the `>` closing the tag that opens at `start` (a `>` inside a quoted attribute does not count) */
  private tagEnd(start: number): number {
    let quote: string | null = null;
    for (let j = start + OPEN.length; j < this.text.length; j++) {
      const ch = this.text[j] as string;
      if (quote !== null) {
        if (ch === quote) quote = null;
      } else if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '>') return j;
      else if (ch === '\n' && quote === null && this.text.startsWith(OPEN, j + 1)) break;
    }
    return fail('a tool call tag is not closed with ">"');
  }

  /**
   * A JSON body (a function's arguments), possibly in a ```json fence, up to `close`. Its end is found by the
   * value's own brackets and strings. Missing `close` at the end of the answer or before the next call: repaired.
   * Undefined when the body is empty.
   */
  private jsonBody(close: string, what: string): unknown {
    this.skipSpace();
    const fenced = this.fenceOpener();
    this.skipSpace();
    if (this.text.startsWith(close, this.pos)) {
      this.pos += close.length;
      return undefined;
    }
    if (this.atEnd() || this.text.startsWith(OPEN, this.pos)) return undefined;
    const end = jsonValueEnd(this.text, this.pos);
    if (end < 0) fail(`${what} is not valid JSON (it does not end)`);
    const value = parseJson(this.text.slice(this.pos, end), what);
    this.pos = end;
    this.skipSpace();
    if (fenced) {
      this.fenceCloser();
      this.skipSpace();
    }
    if (this.text.startsWith(close, this.pos)) this.pos += close.length;
    else if (!this.atEnd() && !this.text.startsWith(OPEN, this.pos)) fail(`${what} is followed by text other than ${close}`);
    return value;
  }

  /**
   * A freeform body: on the tag's own line up to `</tool_call>`, or on the lines after it up to a line that
   * starts with `</tool_call>` (so the input may contain the closing tag in mid-line). Missing closing line:
   * the rest of the answer (repaired). A fence around the whole input is removed.
   */
  private rawBody(): string {
    const text = this.text;
    let from = this.pos;
    let body: string | undefined;
    const lineEnd = text.indexOf('\n', from);
    const sameLine = text.indexOf(CLOSE, from);
    if (sameLine >= 0 && (lineEnd < 0 || sameLine < lineEnd)) {
      body = text.slice(from, sameLine);
      this.pos = sameLine + CLOSE.length;
    } else {
      if (text[from] === '\r' && text[from + 1] === '\n') from += 2;
      else if (text[from] === '\n') from += 1;
      const immediate = /^[ \t]*<\/tool_call>/.exec(text.slice(from, from + 64));
      if (immediate !== null) {
        body = '';
        this.pos = from + immediate[0].length;
      } else {
        CLOSING_LINE.lastIndex = from;
        const m = CLOSING_LINE.exec(text);
        if (m !== null) {
          body = text.slice(from, m.index);
          this.pos = m.index + m[0].length;
        } else {
          body = text.slice(from).replace(/\s+$/, '');
          this.pos = text.length;
        }
      }
    }
    const fence = WHOLE_FENCE.exec(body);
    return fence ? (fence[1] as string) : body;
  }
}

/** Parses and validates a tool answer (text from the line that opened a call on) against the request's tools. */
export function parseToolAnswer(text: string, tools: readonly ToolSpec[]): ToolAnswer {
  try {
    const calls = new CallBlockReader(text, tools).calls();
    for (const call of calls) {
      const tool = findTool(tools, call.name);
      if (tool === undefined) return { ok: false, reason: `unknown tool "${call.name}"` };
      if ('input' in call) {
        if (tool.freeform === undefined) return { ok: false, reason: `"${call.name}" takes JSON arguments, not plain text` };
        continue;
      }
      if (tool.freeform !== undefined) return { ok: false, reason: `"${call.name}" takes plain text, not JSON arguments` };
      const problems = validateSchema(tool.parameters, call.arguments);
      if (problems.length > 0) return { ok: false, reason: `the arguments of "${call.name}" do not match its schema: ${problems.join('; ')}` };
    }
    return { ok: true, calls };
  } catch (err) {
    if (err instanceof Malformed) return { ok: false, reason: err.message };
    throw err;
  }
}

// ---- the streaming filter -------------------------------------------------------------------------------------

export interface ToolFilterOptions {
  tools: readonly ToolSpec[];
  /** `call_` (OpenAI) or `toolu_` (Anthropic) */
  idPrefix?: string;
  newId?: () => string;
  /** told why an answer that opened a tool call was returned as text */
  onMalformed?: (reason: string) => void;
  /** at most this many calls are delivered (1 for parallel_tool_calls: false); the rest are dropped */
  maxCalls?: number;
}

export function newToolCallId(prefix = 'call_'): string {
  return `${prefix}${randomToken(12, 'hex')}`;
}

/** Event in, events out. Synchronous, so it can be tested with tables. */
export class ToolCallFilter implements EventFilter {
  /** text held while undecided: it starts at a line start and is blank or a prefix of a call's opening */
  private pending = '';
  /** whether the text released so far ends at a line start (nothing released yet counts) */
  private atLineStart = true;
  private held: string | null = null;

  constructor(private readonly opts: ToolFilterOptions) {}

  push(event: GatewayEvent): GatewayEvent[] {
    if (event.type === 'text') return this.text(event.text);
    if (event.type === 'end') return this.end(event.finishReason);
    return [event];
  }

  private text(text: string): GatewayEvent[] {
    if (this.held !== null) {
      this.held += text;
      return [];
    }
    const s = this.pending + text;
    this.pending = '';
    let lineStart = this.atLineStart ? 0 : lineAfter(s, 0);
    while (lineStart >= 0) {
      let j = lineStart;
      while (j < s.length && (s[j] === ' ' || s[j] === '\t' || s[j] === '\r')) j++;
      if (j === s.length) {
        // a line with nothing but blanks so far: undecided
        this.pending = s.slice(lineStart);
        this.atLineStart = true;
        return release(s.slice(0, lineStart));
      }
      if (s[j] === '\n') {
        lineStart = j + 1;
        continue;
      }
      const state = opensToolCall(s.slice(j));
      if (state === 'yes') {
        this.held = s.slice(lineStart);
        return release(s.slice(0, lineStart));
      }
      if (state === 'maybe') {
        this.pending = s.slice(lineStart);
        this.atLineStart = true;
        return release(s.slice(0, lineStart));
      }
      lineStart = lineAfter(s, j);
    }
    this.atLineStart = false;
    return release(s);
  }

  private end(finishReason: FinishReason): GatewayEvent[] {
    const out: GatewayEvent[] = [];
    if (this.held === null) {
      if (this.pending !== '') out.push({ type: 'text', text: this.pending });
      this.pending = '';
      out.push({ type: 'end', finishReason });
      return out;
    }
    const held = this.held;
    this.held = null;
    const answer = parseToolAnswer(held, this.opts.tools);
    if (!answer.ok) {
      this.opts.onMalformed?.(answer.reason);
      out.push({ type: 'text', text: held }, { type: 'end', finishReason });
      return out;
    }
    const newId = this.opts.newId ?? (() => newToolCallId(this.opts.idPrefix));
    const parsed = this.opts.maxCalls === undefined ? answer.calls : answer.calls.slice(0, this.opts.maxCalls);
    const calls: ToolCall[] = parsed.map((c) =>
      'input' in c ? { id: newId(), name: c.name, arguments: c.input, freeform: true } : { id: newId(), name: c.name, arguments: JSON.stringify(c.arguments) },
    );
    out.push({ type: 'tool_calls', calls }, { type: 'end', finishReason: 'tool_calls' });
    return out;
  }
}

const release = (text: string): GatewayEvent[] => (text === '' ? [] : [{ type: 'text', text }]);

/** the index just after the next line break at or after `from`; -1 when there is none */
function lineAfter(s: string, from: number): number {
  const nl = s.indexOf('\n', from);
  return nl < 0 ? -1 : nl + 1;
}
