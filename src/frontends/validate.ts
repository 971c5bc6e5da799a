/**
 * Field checks shared by the completions, Responses and Anthropic front ends. Each failure is a 400
 * (GatewayError from invalidRequest) whose `param` names the field and whose `code` is stable:
 * missing_required_parameter, invalid_type, invalid_value, unsupported_value. `null` means "not given".
 */
import { invalidRequest } from '../core/errors.js';
import type { MessageOrigins } from '../core/limits.js';
import type { GenerationParams, PluginRequest, ReasoningEffort, ResponseFormat, ToolSpec, WebSearchOptions } from '../core/types.js';

export type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

export const isAbsent = (value: unknown): value is null | undefined => value === undefined || value === null;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export function missing(param: string, hint = ''): never {
  throw invalidRequest(`Missing required parameter: '${param}'.${hint}`, param, 'missing_required_parameter');
}

export function wrongType(param: string, expected: string, value: unknown): never {
  throw invalidRequest(`Invalid type for '${param}': expected ${expected}, but got ${describe(value)}.`, param, 'invalid_type');
}

export function invalidValue(param: string, detail: string): never {
  throw invalidRequest(`Invalid '${param}': ${detail}`, param, 'invalid_value');
}

export function unsupported(param: string, detail: string): never {
  throw invalidRequest(`Unsupported '${param}': ${detail}`, param, 'unsupported_value');
}

export const quoteList = (values: readonly string[]): string => values.map((v) => `'${v}'`).join(', ');

export function requireObject(value: unknown, param: string): Json {
  if (isAbsent(value)) missing(param);
  if (!isObject(value)) wrongType(param, 'an object', value);
  return value;
}

export function requireString(value: unknown, param: string): string {
  if (isAbsent(value)) missing(param);
  if (typeof value !== 'string') wrongType(param, 'a string', value);
  if (value.trim() === '') invalidValue(param, 'expected a non-empty string.');
  return value;
}

/** A string that may be empty (message text). */
export function requireText(value: unknown, param: string): string {
  if (isAbsent(value)) missing(param);
  if (typeof value !== 'string') wrongType(param, 'a string', value);
  return value;
}

export function optionalString(value: unknown, param: string): string | undefined {
  if (isAbsent(value)) return undefined;
  if (typeof value !== 'string') wrongType(param, 'a string', value);
  return value;
}

export function optionalBoolean(value: unknown, param: string): boolean | undefined {
  if (isAbsent(value)) return undefined;
  if (typeof value !== 'boolean') wrongType(param, 'a boolean', value);
  return value;
}

export function optionalNumberIn(value: unknown, param: string, min: number, max: number): number | undefined {
  if (isAbsent(value)) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) wrongType(param, 'a number', value);
  if (value < min || value > max) invalidValue(param, `${value}. OnDemand accepts ${min} to ${max}.`);
  return value;
}

export function optionalPositiveInt(value: unknown, param: string): number | undefined {
  if (isAbsent(value)) return undefined;
  if (typeof value !== 'number') wrongType(param, 'an integer', value);
  if (!Number.isInteger(value) || value < 1) invalidValue(param, `${value}. Expected a positive integer.`);
  return value;
}

/** What every front end's parser may be told by the gateway's settings. */
export interface ParseOptions {
  /** the model of a request that names none (DEFAULT_MODEL, as the original proxy did); unset: `model` is required */
  defaultModel?: string | undefined;
  /** where the parser notes each message's place in the body, for the limits (src/core/limits.ts) */
  origins?: MessageOrigins | undefined;
}

/**
 * The route's options with one request's `origins` (a field added here is copied in withOrigins too). Written out
 * rather than `{ ...options, origins }`: V8 builds a spread followed by a new property on a slow path, about 1 µs a
 * request (docs/performance.md, "Ninth round").
 */
export function withOrigins(options: ParseOptions, origins: MessageOrigins): ParseOptions {
  return { defaultModel: options.defaultModel, origins };
}

/** `model`; absent, the default model when there is one, else a 400 (`hint` says why it is required). */
export function requireModel(value: unknown, defaultModel?: string, hint = ''): string {
  if (isAbsent(value)) {
    if (defaultModel !== undefined) return defaultModel;
    missing('model', hint);
  }
  if (typeof value !== 'string') wrongType('model', 'a string', value);
  if (value.trim() === '') invalidValue('model', 'expected a non-empty model name.');
  return value;
}

/** stop sequences: a string or up to `max` non-empty strings */
export function readStopList(value: unknown, param: string, max: number): string[] | undefined {
  if (isAbsent(value)) return undefined;
  if (typeof value === 'string') {
    if (value === '') invalidValue(param, 'expected a non-empty string.');
    return [value];
  }
  if (!Array.isArray(value)) wrongType(param, 'a string or an array of strings', value);
  if (value.length > max) invalidValue(param, `${value.length} sequences. At most ${max} are allowed.`);
  if (value.length === 0) return undefined;
  return value.map((item: unknown, k) => {
    if (typeof item !== 'string') wrongType(`${param}[${k}]`, 'a string', item);
    if (item === '') invalidValue(`${param}[${k}]`, 'expected a non-empty string.');
    return item;
  });
}

/** A JSON schema object (tool parameters); absent → undefined. */
export function optionalSchema(value: unknown, param: string): Record<string, unknown> | undefined {
  if (isAbsent(value)) return undefined;
  if (!isObject(value)) wrongType(param, 'an object', value);
  return value;
}

/** A request's `tools` list: absent or empty → undefined; else every element read by `readTool` (k: its index). */
/** `readTool` returns undefined for a tool that is no client tool (a web search switch, read on its own). */
export function readToolList(value: unknown, readTool: (tool: unknown, k: number) => ToolSpec | undefined): ToolSpec[] | undefined {
  if (isAbsent(value)) return undefined;
  if (!Array.isArray(value)) wrongType('tools', 'an array', value);
  const specs: ToolSpec[] = [];
  value.forEach((tool: unknown, k) => {
    const spec = readTool(tool, k);
    if (spec !== undefined) specs.push(spec);
  });
  return specs.length === 0 ? undefined : specs;
}

/** One tool's name (required), description and parameter schema (`schemaField`), from `def` whose fields sit at `param`. */
export function readToolSpec(def: Json, param: string, schemaField: string): ToolSpec {
  const spec: ToolSpec = { name: requireString(def.name, `${param}.name`) };
  const description = optionalString(def.description, `${param}.description`);
  if (description !== undefined) spec.description = description;
  const schema = optionalSchema(def[schemaField], `${param}.${schemaField}`);
  if (schema !== undefined) spec.parameters = schema;
  return spec;
}

const FORMAT_TYPES: readonly string[] = ['text', 'json_object', 'json_schema'];

/**
 * A structured-output request at `param`: chat's `response_format` (name, schema, strict and description nested
 * in `json_schema`) or Responses' `text.format` (the same fields beside `type`). `text` or absent → undefined.
 * The schema name is not held to OpenAI's character pattern: it only labels the schema in the prompt.
 */
export function readResponseFormat(value: unknown, param: string, nested: boolean): ResponseFormat | undefined {
  if (isAbsent(value)) return undefined;
  if (!isObject(value)) wrongType(param, 'an object', value);
  const type = value.type;
  if (isAbsent(type)) missing(`${param}.type`);
  if (typeof type !== 'string') wrongType(`${param}.type`, 'a string', type);
  if (!FORMAT_TYPES.includes(type)) invalidValue(`${param}.type`, `'${type}'. Supported values are: ${quoteList(FORMAT_TYPES)}.`);
  if (type === 'text') return undefined;
  if (type === 'json_object') return { type };
  const at = nested ? `${param}.json_schema` : param;
  const def = nested ? requireObject(value.json_schema, at) : value;
  const format: ResponseFormat = { type: 'json_schema', name: requireString(def.name, `${at}.name`) };
  const schema = optionalSchema(def.schema, `${at}.schema`);
  if (schema !== undefined) format.schema = schema;
  const strict = optionalBoolean(def.strict, `${at}.strict`);
  if (strict !== undefined) format.strict = strict;
  const description = optionalString(def.description, `${at}.description`);
  if (description !== undefined) format.description = description;
  return format;
}

/** `only` (n, best_of): absent or exactly 1 */
export function onlyOne(value: unknown, param: string): void {
  if (isAbsent(value) || value === 1) return;
  unsupported(param, `${JSON.stringify(value)}. Only 1 is supported: OnDemand returns one answer per request.`);
}

/** temperature, top_p, presence_penalty, frequency_penalty as OpenAI names them, in OnDemand's ranges */
export function readSamplingParams(body: Json): GenerationParams {
  const params: GenerationParams = {};
  const temperature = optionalNumberIn(body.temperature, 'temperature', 0, 2);
  if (temperature !== undefined) params.temperature = temperature;
  const topP = optionalNumberIn(body.top_p, 'top_p', 0, 1);
  if (topP !== undefined) params.topP = topP;
  const presencePenalty = optionalNumberIn(body.presence_penalty, 'presence_penalty', 0, 2);
  if (presencePenalty !== undefined) params.presencePenalty = presencePenalty;
  const frequencyPenalty = optionalNumberIn(body.frequency_penalty, 'frequency_penalty', 0, 2);
  if (frequencyPenalty !== undefined) params.frequencyPenalty = frequencyPenalty;
  return params;
}

/**
 * OpenAI's reasoning efforts as OnDemand's three (low, medium, max): the nearest one, never a 400 for a value
 * current clients send; `none` leaves the effort out (the model's own default).
 */
const REASONING_EFFORTS: ReadonlyMap<string, ReasoningEffort | null> = new Map([
  ['minimal', 'low'],
  ['low', 'low'],
  ['medium', 'medium'],
  ['high', 'max'],
  ['xhigh', 'max'],
  // Codex CLI's model list offers these above xhigh
  ['max', 'max'],
  ['ultra', 'max'],
  ['none', null],
]);

/** `reasoning_effort` (or Responses' `reasoning.effort`): undefined when absent or `none`. */
export function readReasoningEffort(value: unknown, param: string): ReasoningEffort | undefined {
  if (isAbsent(value)) return undefined;
  if (typeof value !== 'string') wrongType(param, 'a string', value);
  const effort = REASONING_EFFORTS.get(value);
  if (effort === undefined) invalidValue(param, `'${value}'. Supported values are: ${quoteList([...REASONING_EFFORTS.keys()])}.`);
  return effort ?? undefined;
}

// ---- plugins (docs/plugins.md) ------------------------------------------------------------------------------

/** What an OnDemand plugin (or agent) id looks like (src/core/plugins.ts checks which ones are allowed). */
const PLUGIN_ID_SHAPE = /^(?:plugin|agent)-[A-Za-z0-9_-]{1,100}$/;

/** `ondemand_plugins`: the gateway's extension field, a list of OnDemand plugin ids. */
export function readPluginIds(value: unknown, param = 'ondemand_plugins'): string[] | undefined {
  if (isAbsent(value)) return undefined;
  if (!Array.isArray(value)) wrongType(param, 'an array of OnDemand plugin ids', value);
  const ids: string[] = [];
  value.forEach((id: unknown, i) => {
    if (typeof id !== 'string') wrongType(`${param}[${i}]`, 'a string', id);
    const trimmed = id.trim();
    if (!PLUGIN_ID_SHAPE.test(trimmed)) invalidValue(`${param}[${i}]`, `${JSON.stringify(id)}. Expected an OnDemand plugin id such as 'plugin-1713924030'.`);
    if (!ids.includes(trimmed)) ids.push(trimmed);
  });
  return ids.length === 0 ? undefined : ids;
}

/** A web search `user_location`: `{type: "approximate", approximate?: {city, region, country, timezone}}` or the fields flat (Anthropic). */
export function readUserLocation(value: unknown, param: string): WebSearchOptions['userLocation'] {
  if (isAbsent(value)) return undefined;
  const loc = requireObject(value, param);
  if (!isAbsent(loc.type) && loc.type !== 'approximate') invalidValue(`${param}.type`, `${JSON.stringify(loc.type)}. Supported values are: 'approximate'.`);
  const fields = isAbsent(loc.approximate) ? loc : requireObject(loc.approximate, `${param}.approximate`);
  const base = isAbsent(loc.approximate) ? param : `${param}.approximate`;
  const out: NonNullable<WebSearchOptions['userLocation']> = {};
  for (const key of ['city', 'region', 'country', 'timezone'] as const) {
    const v = optionalString(fields[key], `${base}.${key}`);
    if (v !== undefined && v.trim() !== '') out[key] = v.trim();
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

/** The request's plugins: the web search switch and the extension field; undefined when it asks for none. */
export function pluginRequest(webSearch: WebSearchOptions | undefined, ids: string[] | undefined): PluginRequest | undefined {
  if (webSearch === undefined && ids === undefined) return undefined;
  const out: PluginRequest = {};
  if (webSearch !== undefined) out.webSearch = webSearch;
  if (ids !== undefined) out.ids = ids;
  return out;
}
