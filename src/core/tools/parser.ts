/**
 * Tool calls, emulated, half two: the model's text answer → GatewayEvents with tool calls. It sits between the
 * engine's events and every front end (the engine's tool stage, src/core/answer.ts), so chat completions,
 * Responses and Anthropic Messages all get the same behaviour.
 *
 * Streaming rule: text passes through at once, except text that may open a tool call (`<tool_call`, possibly
 * after a ``` fence line), which is held back until it is decided. Once a call has opened, the rest of the answer
 * is held to the end, then parsed as a whole: valid calls become one `tool_calls` event and the answer ends with
 * finish reason `tool_calls`; a malformed answer is returned as plain text, unchanged (docs/tools.md says why).
 */
import { randomToken } from '../../runtime/random-id.js';
import type { EventFilter } from '../events.js';
import type { FinishReason, GatewayEvent, ToolCall, ToolSpec } from '../types.js';
import { validateSchema } from './schema.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const OPEN = '<tool_call';
/** a fence line longer than this is not a fence opener (keeps the held-back prefix short) */
const MAX_FENCE_INFO = 32;

export interface ParsedCall {
  name: string;
  arguments: Json;
}

export type ToolAnswer = { ok: true; calls: ParsedCall[] } | { ok: false; reason: string };

// ---- deciding whether text opens a tool call ------------------------------------------------------------------

/**
 * Whether `s` (text from a `<` or a backtick on) opens a tool call: 'yes' once `<tool_call` is followed by
 * `>`, `s` or whitespace (after an optional ``` fence line), 'maybe' while `s` is still a prefix of such an
 * opening, 'no' as soon as it cannot be one.
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

/** ```json ... ``` around a body → the body */
function stripFence(body: string): string {
  const m = /^\s*```[\w.+-]*[ \t]*\r?\n([\s\S]*?)\r?\n?[ \t]*```\s*$/.exec(body);
  return (m ? (m[1] as string) : body).trim();
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    return fail(`${what} is not valid JSON (${(err as Error).message})`);
  }
}

/** Arguments as an object; a JSON string holding an object is accepted (repair), absent means {}. */
function readArguments(value: unknown, name: string): Json {
  if (value === undefined || value === null) return {};
  const parsed = typeof value === 'string' ? (value.trim() === '' ? {} : parseJson(value, `the arguments of "${name}"`)) : value;
  if (!isObject(parsed)) return fail(`the arguments of "${name}" are not a JSON object`);
  return parsed;
}

/** One call written as an object: {name, arguments} (also `parameters`/`input`, or OpenAI's {function:{...}}). */
function readCallObject(item: unknown): ParsedCall {
  if (!isObject(item)) return fail('a tool call is not a JSON object');
  const fn = isObject(item.function) ? item.function : item;
  const name = fn.name;
  if (typeof name !== 'string' || name === '') return fail('a tool call has no name');
  return { name, arguments: readArguments(fn.arguments ?? fn.parameters ?? fn.input, name) };
}

const ENTITIES: Record<string, string> = { '&quot;': '"', '&amp;': '&', '&lt;': '<', '&gt;': '>', '&apos;': "'" };

function attribute(attrs: string, key: string): string | undefined {
  const m = new RegExp(`(?:^|\\s)${key}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`).exec(attrs);
  const raw = m?.[1] ?? m?.[2];
  return raw?.replace(/&(?:quot|amp|lt|gt|apos);/g, (e) => ENTITIES[e] ?? e);
}

/** Every call in `text`, which starts at a tool-call opening; text between or after the calls is ignored. */
function extractCalls(text: string): ParsedCall[] {
  const calls: ParsedCall[] = [];
  let pos = 0;
  for (;;) {
    const start = text.indexOf(OPEN, pos);
    if (start < 0) break;
    const tagEnd = text.indexOf('>', start);
    if (tagEnd < 0) fail('a tool call tag is not closed with ">"');
    const plural = text[start + OPEN.length] === 's';
    const tagName = plural ? 'tool_calls' : 'tool_call';
    const attrs = text.slice(start + 1 + tagName.length, tagEnd);
    if (attrs !== '' && !/^\s/.test(attrs)) fail(`unknown tag <${text.slice(start + 1, tagEnd)}>`);
    const close = `</${tagName}>`;
    const closeAt = text.indexOf(close, tagEnd + 1);
    let bodyEnd: number;
    if (closeAt >= 0) {
      bodyEnd = closeAt;
      pos = closeAt + close.length;
    } else {
      // repair: a missing closing tag ends at the next call or at the end of the answer
      const nextOpen = text.indexOf(OPEN, tagEnd + 1);
      bodyEnd = nextOpen < 0 ? text.length : nextOpen;
      pos = bodyEnd;
    }
    const body = stripFence(text.slice(tagEnd + 1, bodyEnd));
    if (plural) {
      const value = parseJson(body, 'the <tool_calls> block');
      for (const item of Array.isArray(value) ? value : [value]) calls.push(readCallObject(item));
      continue;
    }
    const name = attribute(attrs, 'name');
    if (name === undefined) {
      calls.push(readCallObject(parseJson(body, 'the tool call')));
      continue;
    }
    if (name === '') fail('a tool call has an empty name');
    let args: unknown = body === '' ? {} : parseJson(body, `the arguments of "${name}"`);
    // repair: the whole call object inside a named tag
    if (isObject(args) && args.name === name && 'arguments' in args && Object.keys(args).length === 2) args = args.arguments;
    calls.push({ name, arguments: readArguments(args, name) });
  }
  return calls;
}

/** Parses and validates a tool answer against the request's tools. */
export function parseToolAnswer(text: string, tools: readonly ToolSpec[]): ToolAnswer {
  try {
    const calls = extractCalls(text);
    if (calls.length === 0) return { ok: false, reason: 'no tool call found' };
    for (const call of calls) {
      const tool = tools.find((t) => t.name === call.name);
      if (tool === undefined) return { ok: false, reason: `unknown tool "${call.name}"` };
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
}

export function newToolCallId(prefix = 'call_'): string {
  return `${prefix}${randomToken(12, 'hex')}`;
}

/** Event in, events out. Synchronous, so it can be tested with tables. */
export class ToolCallFilter implements EventFilter {
  private pending = '';
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
    this.pending += text;
    const s = this.pending;
    let from = 0;
    for (;;) {
      const k = nextCandidate(s, from);
      if (k < 0) {
        this.pending = '';
        return s === '' ? [] : [{ type: 'text', text: s }];
      }
      const state = opensToolCall(s.slice(k));
      if (state === 'no') {
        from = k + 1;
        continue;
      }
      const out: GatewayEvent[] = k > 0 ? [{ type: 'text', text: s.slice(0, k) }] : [];
      if (state === 'maybe') this.pending = s.slice(k);
      else {
        this.held = s.slice(k);
        this.pending = '';
      }
      return out;
    }
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
    const calls: ToolCall[] = answer.calls.map((c) => ({ id: newId(), name: c.name, arguments: JSON.stringify(c.arguments) }));
    out.push({ type: 'tool_calls', calls }, { type: 'end', finishReason: 'tool_calls' });
    return out;
  }
}

/** next `<` or backtick at or after `from`, -1 if none */
function nextCandidate(s: string, from: number): number {
  const lt = s.indexOf('<', from);
  const tick = s.indexOf('`', from);
  if (lt < 0) return tick;
  if (tick < 0) return lt;
  return Math.min(lt, tick);
}
