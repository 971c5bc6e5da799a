/**
 * Structured output, emulated, half two: the model's text answer → just the JSON value. Models asked for JSON
 * still wrap it in a ```json fence or add a sentence before or after it; clients then fail in `JSON.parse`. This
 * filter sits after the tool-call filter (the engine's answer stages, src/core/answer.ts) and touches only text
 * events:
 *
 * - before the value starts, text is held (a fence line, "Here is the JSON:"), then dropped once an opening
 *   bracket is followed by what a JSON value has there (`{"`, `{}`, `[1`, `[{`, ...), so a `{curly aside}` in
 *   prose does not count;
 * - the value itself passes through as it arrives, while a small scanner (strings, escapes, bracket depth) finds
 *   where it closes;
 * - everything after the value (a closing fence, prose) is dropped;
 * - if no value ever starts, the held text is passed unchanged at the end: the model's answer is never lost.
 *
 * Stream and non-stream give the same text. At the end the value is checked (JSON, an object for json_object,
 * the schema for json_schema); a failure is reported (onInvalid) and the answer is left as the model gave it,
 * cleaned: nothing is invented or retried. docs/structured-output.md says why.
 */
import type { EventFilter } from '../events.js';
import { validateSchema } from '../tools/schema.js';
import type { GatewayEvent, ResponseFormat } from '../types.js';

const isJsonSpace = (ch: string | undefined): boolean => ch === ' ' || ch === '\n' || ch === '\r' || ch === '\t';

/** The brackets a value of this format may open with: only `{` unless the schema's root may be an array. */
export function openersOf(format: ResponseFormat): string {
  if (format.type === 'json_object' || format.schema === undefined) return '{';
  const type = format.schema.type;
  if (type === 'object') return '{';
  if (type === 'array') return '[';
  return '{[';
}

const LITERALS = ['true', 'false', 'null'];

/** `rest` (from a letter after `[`) starts a JSON literal: 'maybe' while it is still a prefix of one. */
function literalStarts(rest: string): 'yes' | 'no' | 'maybe' {
  for (const literal of LITERALS) {
    if (rest.length <= literal.length) {
      if (literal.startsWith(rest)) return 'maybe';
    } else if (rest.startsWith(literal)) {
      const after = rest[literal.length];
      return isJsonSpace(after) || after === ',' || after === ']' ? 'yes' : 'no';
    }
  }
  return 'no';
}

/**
 * Whether the bracket at `s[at]` opens a JSON value, judged by what follows it: 'maybe' while only whitespace
 * (or the start of a literal) has come. An object must go on with `"` or `}`, an array with a value or `]`.
 */
export function opensJsonValue(s: string, at: number): 'yes' | 'no' | 'maybe' {
  let j = at + 1;
  while (isJsonSpace(s[j])) j++;
  const next = s[j];
  if (next === undefined) return 'maybe';
  if (s[at] === '{') return next === '"' || next === '}' ? 'yes' : 'no';
  if ('{["-0123456789]'.includes(next)) return 'yes';
  return literalStarts(s.slice(j, j + 6));
}

/** Why `text` is not the JSON `format` asks for; undefined when it is. */
export function checkJsonAnswer(text: string, format: ResponseFormat): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return `the answer is not valid JSON (${(err as Error).message})`;
  }
  if (format.type === 'json_object' || format.schema === undefined) {
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? undefined : 'the answer is not a JSON object';
  }
  const problems = validateSchema(format.schema, value);
  return problems.length > 0 ? `the answer does not match the schema "${format.name}": ${problems.join('; ')}` : undefined;
}

export interface StructuredFilterOptions {
  format: ResponseFormat;
  /** told why the answer passed on is not the JSON the request asked for */
  onInvalid?: (reason: string) => void;
}

type Phase = 'before' | 'inside' | 'after' | 'tool_calls';

/** Event in, events out. Synchronous, so it can be tested with tables. */
export class StructuredAnswerFilter implements EventFilter {
  private phase: Phase = 'before';
  /** before: the whole answer so far (given back unchanged if no value starts) */
  private held = '';
  /** before: where the search for an opening bracket goes on */
  private from = 0;
  /** inside, after: the value passed on so far, checked at the end */
  private value = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private readonly openers: string;

  constructor(private readonly opts: StructuredFilterOptions) {
    this.openers = openersOf(opts.format);
  }

  push(event: GatewayEvent): GatewayEvent[] {
    switch (event.type) {
      case 'text':
        return this.text(event.text);
      case 'tool_calls':
        return this.toolCalls(event);
      case 'end':
        return this.end(event);
      default:
        return [event]; // reasoning and usage are never held
    }
  }

  private text(text: string): GatewayEvent[] {
    switch (this.phase) {
      case 'inside':
        return this.scan(text);
      case 'after':
        return [];
      case 'tool_calls':
        return [{ type: 'text', text }];
      case 'before':
        break;
    }
    this.held += text;
    for (;;) {
      const at = this.nextOpener();
      if (at < 0) {
        this.from = this.held.length;
        return [];
      }
      const state = opensJsonValue(this.held, at);
      if (state === 'maybe') {
        this.from = at;
        return [];
      }
      if (state === 'no') {
        this.from = at + 1;
        continue;
      }
      const rest = this.held.slice(at);
      this.held = '';
      this.phase = 'inside';
      return this.scan(rest);
    }
  }

  private nextOpener(): number {
    for (let i = this.from; i < this.held.length; i++) if (this.openers.includes(this.held[i] as string)) return i;
    return -1;
  }

  /** Passes `text` on up to where the value closes; the rest of the answer is dropped from there. */
  private scan(text: string): GatewayEvent[] {
    let i = 0;
    while (i < text.length) {
      const ch = text[i++];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (ch === '\\') this.escaped = true;
        else if (ch === '"') this.inString = false;
      } else if (ch === '"') this.inString = true;
      else if (ch === '{' || ch === '[') this.depth++;
      else if ((ch === '}' || ch === ']') && --this.depth === 0) {
        this.phase = 'after';
        break;
      }
    }
    const out = text.slice(0, i);
    this.value += out;
    return out === '' ? [] : [{ type: 'text', text: out }];
  }

  /** Tool calls win: text held before them was a preamble, not a JSON answer, and goes out as the tool filter gave it. */
  private toolCalls(event: GatewayEvent): GatewayEvent[] {
    const out: GatewayEvent[] = this.phase === 'before' && this.held !== '' ? [{ type: 'text', text: this.held }] : [];
    this.held = '';
    this.phase = 'tool_calls';
    out.push(event);
    return out;
  }

  private end(event: GatewayEvent): GatewayEvent[] {
    const out: GatewayEvent[] = [];
    if (this.phase === 'before') {
      if (this.held !== '') out.push({ type: 'text', text: this.held });
      this.held = '';
      this.opts.onInvalid?.('the answer has no JSON value; returned as the model wrote it');
    } else if (this.phase === 'inside') {
      this.opts.onInvalid?.('the JSON value is not complete');
    } else if (this.phase === 'after') {
      const problem = checkJsonAnswer(this.value, this.opts.format);
      if (problem !== undefined) this.opts.onInvalid?.(problem);
    }
    out.push(event);
    return out;
  }
}
