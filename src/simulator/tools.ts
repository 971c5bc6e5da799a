/**
 * How the simulated model answers a query carrying the gateway's `<tools>` section (src/core/tools/prompt.ts):
 * it calls the first tool (or the one tool_choice names) with arguments built from the tool's schema, in the
 * gateway's tool-call notation; after a tool result (a `<tool_result>` block after the last user turn) it answers
 * in text, quoting the result, so a client's tool round trip ends. Markers in the query change the answer.
 * A tool marked `freeform` (plain-text input, e.g. a patch) is called with FREEFORM_SAMPLE on lines of its own.
 */

/** Answer with a tool call whose arguments are not valid JSON. */
export const TOOL_MALFORMED_MARKER = 'SIM_TOOL_MALFORMED';
/** Answer with arguments of the wrong type for every required property. */
export const TOOL_BAD_ARGS_MARKER = 'SIM_TOOL_BAD_ARGS';
/** Write a sentence before the call. */
export const TOOL_PREAMBLE_MARKER = 'SIM_TOOL_PREAMBLE';
/** Call every tool, one call each. */
export const TOOL_ALL_MARKER = 'SIM_TOOL_ALL';
/** Use the `<tool_calls>[...]</tool_calls>` list form with the arguments as a JSON string, inside a ``` fence. */
export const TOOL_LIST_MARKER = 'SIM_TOOL_LIST';
/** Answer in plain text although tools are offered. */
export const TOOL_SKIP_MARKER = 'SIM_TOOL_SKIP';
/**
 * `SIM_TOOL_CALL <name> <json>` on one line: call that tool (when offered) with exactly these arguments (a JSON
 * object; for a freeform tool, a JSON string is its text), so a real agent runs a command the test chose. A line
 * a client sent JSON-quoted (`\"` for `"`, as OpenCode's `run` does) is read as the text inside that string.
 */
export const TOOL_CALL_MARKER = 'SIM_TOOL_CALL';

export const TOOL_PREAMBLE = 'Let me look that up.\n';
export const TOOL_SKIP_ANSWER = 'No tool is needed for this.';
export const TOOL_RESULT_PREFIX = 'The tool answered: ';
/** What the simulated model writes as a freeform tool's input. */
export const FREEFORM_SAMPLE = 'freeform-input';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

interface SimTool {
  name: string;
  parameters?: unknown;
  /** takes plain text, not JSON arguments */
  freeform?: boolean;
}

/** A value that satisfies `schema` (the common subset), deterministic: strings are `<key>-value`. */
export function sampleValue(schema: unknown, key: string): unknown {
  if (!isObject(schema)) return `${key}-value`;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  if ('const' in schema) return schema.const;
  const options = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(options) && options.length > 0) return sampleValue(options[0], key);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'array':
      return schema.items === undefined ? [] : [sampleValue(schema.items, key)];
    case 'object':
      return sampleArguments(schema);
    default:
      return `${key}-value`;
  }
}

/** Arguments for a tool: every declared property with a sample value. */
export function sampleArguments(schema: unknown): Json {
  const out: Json = {};
  if (isObject(schema) && isObject(schema.properties)) {
    for (const [key, sub] of Object.entries(schema.properties)) out[key] = sampleValue(sub, key);
  }
  return out;
}

/** The sample arguments with a value of the wrong type for every required property. */
export function wrongArguments(schema: unknown): Json {
  const out: Json = { ...sampleArguments(schema) };
  const required = isObject(schema) && Array.isArray(schema.required) ? schema.required : [];
  for (const key of required) if (typeof key === 'string') out[key] = typeof out[key] === 'number' ? 'not-a-number' : 42;
  return out;
}

const openTag = (name: string): string => `<tool_call name="${name.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}">`;
const callLine = (name: string, args: unknown): string => `${openTag(name)}${JSON.stringify(args)}</tool_call>`;
/** A call in the notation the tool takes: JSON arguments, or a freeform tool's text on lines of its own. */
const callText = (tool: SimTool, args: unknown): string => (tool.freeform === true ? `${openTag(tool.name)}\n${FREEFORM_SAMPLE}\n</tool_call>` : callLine(tool.name, args));

/**
 * Whether the transcript's last turn is a tool result after the user's last message, and that result's text.
 * The transcript is read block by block, each ending at its own closing tag at a line start (which no content
 * can hold: the gateway neutralises those), so a tool result or a user message quoting the notation (a source
 * file read by an agent) cannot pass for a block.
 */
export function lastToolResult(transcript: string): string | undefined {
  let result: string | undefined;
  let pos = transcript.startsWith('<') ? 0 : transcript.indexOf('\n\n<');
  if (pos < 0) return undefined;
  while (pos < transcript.length) {
    while (transcript.startsWith('\n', pos)) pos++;
    if (pos >= transcript.length) break;
    const open = /^<([a-z_]+)(?:\s[^>\n]*)?>\n/.exec(transcript.slice(pos, pos + 512));
    if (open === null) return legacyLastToolResult(transcript);
    const tag = open[1] as string;
    const bodyStart = pos + open[0].length;
    const close = transcript.indexOf(`\n</${tag}>`, bodyStart - 1);
    if (close < 0) return legacyLastToolResult(transcript);
    if (tag === 'tool_result') result = transcript.slice(bodyStart, Math.max(bodyStart, close));
    else if (tag === 'user') result = undefined;
    pos = close + tag.length + 4;
  }
  return result;
}

/** a transcript that is not a sequence of blocks: the last `<tool_result` after the last `<user` */
function legacyLastToolResult(transcript: string): string | undefined {
  const lastResult = transcript.lastIndexOf('<tool_result');
  if (lastResult < 0 || lastResult < transcript.lastIndexOf('<user')) return undefined;
  const bodyStart = transcript.indexOf('>\n', lastResult) + 2;
  const bodyEnd = transcript.indexOf('\n</tool_result>', bodyStart);
  return transcript.slice(bodyStart, bodyEnd < 0 ? undefined : bodyEnd);
}

/**
 * The last `<tag>` section the gateway appended to the query (tools, response_format): where it opens, its text,
 * and the objects on its JSON lines (one per tool, or the format's schema line).
 */
export function querySection(query: string, tag: string): { open: number; text: string; entries: Json[] } | undefined {
  const open = query.lastIndexOf(`\n<${tag}>\n`);
  if (open < 0) return undefined;
  const close = query.indexOf(`\n</${tag}>`, open);
  const text = query.slice(open, close < 0 ? query.length : close);
  const entries: Json[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const value = JSON.parse(line) as unknown;
      if (isObject(value)) entries.push(value);
    } catch {
      // not a JSON line
    }
  }
  return { open, text, entries };
}

/** The tool and arguments a `SIM_TOOL_CALL <name> <json>` line asks for, when the query has one that parses. */
export function requestedCall(query: string): { name: string; args: unknown } | undefined {
  const found = new RegExp(`${TOOL_CALL_MARKER} (\\S+) ([^\\n]+)`).exec(query);
  if (found === null) return undefined;
  const rest = found[2] as string;
  for (const candidate of [rest, quotedText(rest)]) {
    if (candidate === undefined) continue;
    try {
      return { name: found[1] as string, args: JSON.parse(candidate) as unknown };
    } catch {
      // not JSON: try the next reading
    }
  }
  return undefined;
}

/** The line read as the inside of a JSON string, up to its closing quote (a client that sent the prompt JSON-quoted). */
function quotedText(rest: string): string | undefined {
  const end = /(?<!\\)"/.exec(rest);
  if (end === null) return undefined;
  try {
    return JSON.parse(`"${rest.slice(0, end.index)}"`) as string;
  } catch {
    return undefined;
  }
}

/**
 * The simulated answer when the query offers tools; undefined when it does not. `textAnswer` replaces the text
 * answers (after a tool result, or when no tool is called), e.g. the JSON a format section asks for.
 */
export function simToolAnswer(query: string, textAnswer?: string): string | undefined {
  const found = querySection(query, 'tools');
  if (found === undefined) return undefined;
  const { open, text: section } = found;
  const tools: SimTool[] = [];
  for (const entry of found.entries) {
    if (typeof entry.name === 'string') tools.push({ name: entry.name, parameters: entry.parameters, freeform: entry.freeform === true });
  }
  const transcript = query.slice(0, open);
  const result = lastToolResult(transcript);
  if (result !== undefined) return textAnswer ?? TOOL_RESULT_PREFIX + result;
  if (query.includes(TOOL_SKIP_MARKER) || tools.length === 0) return textAnswer ?? TOOL_SKIP_ANSWER;
  const named = /You must call the tool ("(?:[^"\\]|\\.)*")/.exec(section);
  const wanted = named ? (JSON.parse(named[1] as string) as string) : undefined;
  const first = tools.find((t) => t.name === wanted) ?? (tools[0] as SimTool);
  const preamble = query.includes(TOOL_PREAMBLE_MARKER) ? TOOL_PREAMBLE : '';
  const requested = requestedCall(transcript);
  const asked = requested === undefined ? undefined : tools.find((t) => t.name === requested.name);
  if (requested !== undefined && asked !== undefined) {
    const text = asked.freeform === true && typeof requested.args === 'string' ? `${openTag(asked.name)}\n${requested.args}\n</tool_call>` : callLine(asked.name, requested.args);
    return preamble + text;
  }
  if (query.includes(TOOL_MALFORMED_MARKER)) {
    // a freeform tool takes any text, so only a tag that never closes is malformed for it
    return first.freeform === true
      ? `${preamble}<tool_call name="${first.name}"\n${FREEFORM_SAMPLE}`
      : `${preamble}<tool_call name="${first.name}">{"broken": "unterminated</tool_call>`;
  }
  if (query.includes(TOOL_BAD_ARGS_MARKER)) return preamble + callLine(first.name, first.freeform === true ? { input: 42 } : wrongArguments(first.parameters));
  if (query.includes(TOOL_LIST_MARKER)) {
    const list = [{ name: first.name, arguments: JSON.stringify(sampleArguments(first.parameters)) }];
    return `${preamble}\`\`\`xml\n<tool_calls>${JSON.stringify(list)}</tool_calls>\n\`\`\``;
  }
  const chosen = query.includes(TOOL_ALL_MARKER) ? tools : [first];
  return preamble + chosen.map((t) => callText(t, sampleArguments(t.parameters))).join('\n');
}
