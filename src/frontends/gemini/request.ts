/**
 * POST /v1beta/models/{model}:generateContent (Gemini API): the body → one GatewayRequest.
 *
 * Field names are read in lowerCamelCase or snake_case (`systemInstruction` / `system_instruction`), as Google's
 * REST endpoints accept both. `contents` turns are `user` (or `function`, an older name) and `model`: text parts;
 * `inlineData` (images, audio, files) and `fileData` with an http(s) URI become media the engine uploads
 * (src/core/media.ts), while a Files API or gs:// URI is refused (the gateway cannot reach Google's storage);
 * `functionCall` / `functionResponse` parts become tool calls and results, paired by id or else by name; thought
 * parts a client sends back are skipped. `generationConfig` maps to OnDemand's sampling parameters;
 * `responseMimeType: application/json` with `responseSchema` (OpenAPI subset, turned into JSON Schema) or
 * `responseJsonSchema` is structured output; `thinkingConfig` picks OnDemand's reasoning effort and whether thought
 * parts come back. `tools[].functionDeclarations` are the emulated tools, `googleSearch` (or the older
 * `googleSearchRetrieval`) is OnDemand's Internet Search offered to the model, `toolConfig.functionCallingConfig`
 * the tool choice. `safetySettings`, `topK`, `seed` and unknown fields are ignored.
 */
import { bodyNotObject, invalidRequest } from '../../core/errors.js';
import type { MessageOrigins } from '../../core/limits.js';
import type { GatewayRequest, GenerationParams, MediaPart, Message, ReasoningEffort, ResponseFormat, ToolCall, ToolChoice, ToolSpec, WebSearchOptions } from '../../core/types.js';
import {
  invalidValue,
  isAbsent,
  isObject,
  type Json,
  missing,
  optionalBoolean,
  optionalNumberIn,
  optionalPositiveInt,
  optionalString,
  type ParseOptions,
  pluginRequest,
  quoteList,
  readPluginIds,
  readStopList,
  requireObject,
  requireString,
  requireText,
  unsupported,
  wrongType,
} from '../validate.js';

export interface GeminiRequestInit {
  /** the model named in the path */
  model: string;
  stream: boolean;
}

export interface ParsedGeminiRequest {
  request: GatewayRequest;
  /** thinkingConfig.includeThoughts: thought parts go back to the client */
  includeThoughts: boolean;
}

/** A field under its camelCase name or its snake_case one. */
export function field(obj: Json, camel: string): unknown {
  const value = obj[camel];
  return value !== undefined ? value : obj[camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
}

// ---- contents -----------------------------------------------------------------------------------------------

const PART_KINDS = ['text', 'inlineData', 'fileData', 'functionCall', 'functionResponse'];
const UNSUPPORTED_PARTS = ['executableCode', 'codeExecutionResult', 'videoMetadata'];

function partKind(part: Json, param: string): string {
  for (const kind of PART_KINDS) if (field(part, kind) !== undefined) return kind;
  for (const kind of UNSUPPORTED_PARTS) if (field(part, kind) !== undefined) unsupported(`${param}.${kind}`, 'OnDemand runs no code and takes no video metadata.');
  return invalidValue(param, `a part needs one of ${quoteList(PART_KINDS)}.`);
}

/** Google's own file stores: the gateway cannot fetch from them. */
const GOOGLE_FILE_URI = /^gs:\/\/|^https:\/\/generativelanguage\.googleapis\.com\//i;

function mediaKind(mimeType: string | undefined): MediaPart['kind'] {
  if (mimeType?.startsWith('image/')) return 'image';
  if (mimeType?.startsWith('audio/')) return 'audio';
  return 'file';
}

function readMedia(part: Json, kind: 'inlineData' | 'fileData', param: string): MediaPart {
  const p = `${param}.${kind}`;
  const data = requireObject(field(part, kind), p);
  const mimeType = optionalString(field(data, 'mimeType'), `${p}.mimeType`)?.trim().toLowerCase();
  const name = optionalString(field(data, 'displayName'), `${p}.displayName`);
  let url: string;
  if (kind === 'inlineData') {
    if (mimeType === undefined || mimeType === '') missing(`${p}.mimeType`);
    url = `data:${mimeType};base64,${requireString(data.data, `${p}.data`).trim()}`;
  } else {
    url = requireString(field(data, 'fileUri'), `${p}.fileUri`).trim();
    if (GOOGLE_FILE_URI.test(url)) {
      unsupported(`${p}.fileUri`, "a file in Google's Files API or Cloud Storage is out of this gateway's reach; send its bytes as inlineData or an http(s) URL.");
    }
    if (!/^https?:\/\//i.test(url)) invalidValue(`${p}.fileUri`, 'expected an http(s) URL.');
  }
  const media: MediaPart = { kind: mediaKind(mimeType), url };
  if (mimeType !== undefined && mimeType !== '') media.mimeType = mimeType;
  if (name !== undefined && name.trim() !== '') media.name = name.trim();
  return media;
}

/** The text a function's result becomes: `{output: "…"}` (Gemini CLI's shape) as its text, anything else as JSON. */
function resultText(response: unknown): string {
  if (isObject(response)) {
    const keys = Object.keys(response);
    if (keys.length === 1 && typeof response.output === 'string') return response.output;
    if (keys.length === 1 && typeof response.error === 'string') return `Error: ${response.error}`;
  }
  return JSON.stringify(response ?? {});
}

/** Pairs results with calls: by id when both carry one, else by name in order of the calls. */
class CallLedger {
  private pending: ToolCall[] = [];

  opened(calls: ToolCall[]): void {
    this.pending = [...calls];
  }

  answer(id: string | undefined, name: string): string {
    const at = this.pending.findIndex((c) => (id !== undefined ? c.id === id : c.name === name));
    if (at < 0) return id ?? name;
    const [call] = this.pending.splice(at, 1);
    return (call as ToolCall).id;
  }
}

/** Each part with its kind and path; a text part's text goes to `texts` unless it is a thought sent back. */
function eachPart(parts: unknown[], param: string, texts: string[], visit: (part: Json, kind: string, p: string, j: number) => void): void {
  parts.forEach((raw: unknown, j) => {
    const p = `${param}[${j}]`;
    const part = requireObject(raw, p);
    const kind = partKind(part, p);
    // thoughts: OnDemand cannot take reasoning back
    if (kind === 'text') {
      if (part.thought !== true) texts.push(requireText(part.text, `${p}.text`));
    } else visit(part, kind, p, j);
  });
}

function readUserTurn(parts: unknown[], param: string, ledger: CallLedger): Message[] {
  const out: Message[] = [];
  const texts: string[] = [];
  const media: MediaPart[] = [];
  eachPart(parts, param, texts, (part, kind, p) => {
    if (kind === 'inlineData' || kind === 'fileData') media.push(readMedia(part, kind, p));
    else if (kind === 'functionResponse') {
      const fr = requireObject(field(part, kind), `${p}.functionResponse`);
      const name = requireString(fr.name, `${p}.functionResponse.name`);
      const id = optionalString(fr.id, `${p}.functionResponse.id`);
      out.push({ role: 'tool', toolCallId: ledger.answer(id, name), name, content: resultText(fr.response) });
    } else invalidValue(`${p}.${kind}`, "only a 'model' turn calls functions.");
  });
  if (texts.length > 0 || media.length > 0 || out.length === 0) {
    out.push(media.length > 0 ? { role: 'user', content: texts.join('\n'), media } : { role: 'user', content: texts.join('\n') });
  }
  return out;
}

function readModelTurn(parts: unknown[], param: string, turn: number, ledger: CallLedger): Message {
  const texts: string[] = [];
  const calls: ToolCall[] = [];
  eachPart(parts, param, texts, (part, kind, p, j) => {
    if (kind === 'functionCall') {
      const fc = requireObject(field(part, kind), `${p}.functionCall`);
      const name = requireString(fc.name, `${p}.functionCall.name`);
      const args = fc.args ?? {};
      if (!isObject(args)) wrongType(`${p}.functionCall.args`, 'an object', args);
      const id = optionalString(fc.id, `${p}.functionCall.id`) ?? `call_${turn}_${j}`;
      calls.push({ id, name, arguments: JSON.stringify(args) });
    } else invalidValue(`${p}.${kind}`, "a 'model' turn holds text and function calls only.");
  });
  ledger.opened(calls);
  const message: Message = { role: 'assistant', content: texts.join('\n') };
  if (calls.length > 0) message.toolCalls = calls;
  return message;
}

function readContents(value: unknown, origins: MessageOrigins | undefined): Message[] {
  if (isAbsent(value)) missing('contents');
  if (!Array.isArray(value)) wrongType('contents', 'an array', value);
  if (value.length === 0) throw invalidRequest('contents: at least one content is required', 'contents', 'empty_array');
  const ledger = new CallLedger();
  const messages: Message[] = [];
  if (origins !== undefined) origins.contentField = 'parts';
  value.forEach((raw: unknown, i) => {
    const param = `contents[${i}]`;
    const content = requireObject(raw, param);
    const role = optionalString(content.role, `${param}.role`) ?? 'user';
    if (role !== 'user' && role !== 'model' && role !== 'function') invalidValue(`${param}.role`, `'${role}'. Supported values are: 'user', 'model'.`);
    const parts = field(content, 'parts');
    if (isAbsent(parts)) missing(`${param}.parts`);
    if (!Array.isArray(parts)) wrongType(`${param}.parts`, 'an array', parts);
    const before = messages.length;
    if (role === 'model') messages.push(readModelTurn(parts, `${param}.parts`, i, ledger));
    else messages.push(...readUserTurn(parts, `${param}.parts`, ledger));
    origins?.entry(param, messages.length - before);
  });
  return messages;
}

/** `systemInstruction`: a Content (its role ignored) or a plain string. */
function readSystem(value: unknown): string | undefined {
  if (isAbsent(value)) return undefined;
  if (typeof value === 'string') return value;
  const content = requireObject(value, 'systemInstruction');
  const parts = field(content, 'parts');
  if (!Array.isArray(parts)) wrongType('systemInstruction.parts', 'an array', parts);
  return parts.map((part: unknown, j) => requireText(requireObject(part, `systemInstruction.parts[${j}]`).text, `systemInstruction.parts[${j}].text`)).join('\n');
}

// ---- schemas ------------------------------------------------------------------------------------------------

/**
 * Gemini's OpenAPI-subset Schema as JSON Schema: `type` upper case (`OBJECT`) → lower case, `nullable: true` →
 * a `null` type beside it, `propertyOrdering` dropped; everything else (enum, format, required, anyOf…) kept.
 */
export function toJsonSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toJsonSchema);
  if (!isObject(schema)) return schema;
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'nullable' || key === 'propertyOrdering') continue;
    if (key === 'type' && typeof value === 'string') out.type = value.toLowerCase();
    else if (key === 'properties' && isObject(value)) out.properties = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonSchema(v)]));
    else if (key === 'items' || key === 'anyOf') out[key] = toJsonSchema(value);
    else out[key] = value;
  }
  if (schema.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  return out;
}

function optionalSchemaAt(value: unknown, param: string, openApi: boolean): Record<string, unknown> | undefined {
  if (isAbsent(value)) return undefined;
  if (!isObject(value)) wrongType(param, 'an object', value);
  return openApi ? (toJsonSchema(value) as Record<string, unknown>) : value;
}

// ---- generationConfig ---------------------------------------------------------------------------------------

/** Gemini's thinking levels as OnDemand's three efforts. */
const THINKING_LEVELS: ReadonlyMap<string, ReasoningEffort> = new Map([
  ['MINIMAL', 'low'],
  ['LOW', 'low'],
  ['MEDIUM', 'medium'],
  ['HIGH', 'max'],
]);

/** `thinkingConfig`: budget 0 turns thinking off, -1 (dynamic) is medium, else by size as for Anthropic's budget. */
function readThinking(value: unknown, params: GenerationParams): boolean {
  if (isAbsent(value)) return false;
  const param = 'generationConfig.thinkingConfig';
  const config = requireObject(value, param);
  const includeThoughts = optionalBoolean(field(config, 'includeThoughts'), `${param}.includeThoughts`) ?? false;
  const level = optionalString(field(config, 'thinkingLevel'), `${param}.thinkingLevel`);
  const budget = field(config, 'thinkingBudget');
  if (level !== undefined && level !== 'THINKING_LEVEL_UNSPECIFIED') {
    const effort = THINKING_LEVELS.get(level.toUpperCase());
    if (effort === undefined) invalidValue(`${param}.thinkingLevel`, `'${level}'. Supported values are: ${quoteList([...THINKING_LEVELS.keys()])}.`);
    params.reasoningEffort = effort;
  } else if (!isAbsent(budget)) {
    if (typeof budget !== 'number' || !Number.isInteger(budget) || budget < -1) wrongType(`${param}.thinkingBudget`, 'an integer of -1 or more', budget);
    if (budget === -1) params.reasoningEffort = 'medium';
    else if (budget > 0) params.reasoningEffort = budget < 4096 ? 'low' : budget < 16384 ? 'medium' : 'max';
  }
  return includeThoughts;
}

function readResponseFormat(config: Json): ResponseFormat | undefined {
  const param = 'generationConfig';
  const mime = optionalString(field(config, 'responseMimeType'), `${param}.responseMimeType`);
  const schema =
    optionalSchemaAt(field(config, 'responseJsonSchema'), `${param}.responseJsonSchema`, false) ??
    optionalSchemaAt(field(config, 'responseSchema'), `${param}.responseSchema`, true);
  if (mime === undefined || mime === 'text/plain') {
    if (schema !== undefined) invalidValue(`${param}.responseMimeType`, "a response schema needs responseMimeType 'application/json'.");
    return undefined;
  }
  if (mime !== 'application/json') unsupported(`${param}.responseMimeType`, `'${mime}'. Supported values are: 'text/plain', 'application/json'.`);
  return schema === undefined ? { type: 'json_object' } : { type: 'json_schema', name: 'response', schema };
}

function readModalities(value: unknown): void {
  if (isAbsent(value)) return;
  const param = 'generationConfig.responseModalities';
  if (!Array.isArray(value)) wrongType(param, 'an array', value);
  const other = value.find((m: unknown) => m !== 'TEXT');
  if (other !== undefined) unsupported(param, `${JSON.stringify(other)}. OnDemand answers in text only: ask for ["TEXT"].`);
}

interface ReadConfig {
  params: GenerationParams;
  includeThoughts: boolean;
  responseFormat: ResponseFormat | undefined;
}

function readGenerationConfig(value: unknown): ReadConfig {
  const params: GenerationParams = {};
  if (isAbsent(value)) return { params, includeThoughts: false, responseFormat: undefined };
  const param = 'generationConfig';
  const config = requireObject(value, param);
  const count = field(config, 'candidateCount');
  if (!isAbsent(count) && count !== 1) unsupported(`${param}.candidateCount`, `${JSON.stringify(count)}. Only 1 is supported: OnDemand returns one candidate per request.`);
  const numbers: Array<[keyof GenerationParams, string, number, number]> = [
    ['temperature', 'temperature', 0, 2],
    ['topP', 'topP', 0, 1],
    ['presencePenalty', 'presencePenalty', 0, 2],
    ['frequencyPenalty', 'frequencyPenalty', 0, 2],
  ];
  for (const [key, name, min, max] of numbers) {
    const n = optionalNumberIn(field(config, name), `${param}.${name}`, min, max);
    if (n !== undefined) (params as Record<string, number>)[key] = n;
  }
  const maxTokens = optionalPositiveInt(field(config, 'maxOutputTokens'), `${param}.maxOutputTokens`);
  if (maxTokens !== undefined) params.maxTokens = maxTokens;
  const stop = readStopList(field(config, 'stopSequences'), `${param}.stopSequences`, 5);
  if (stop !== undefined) params.stop = stop;
  readModalities(field(config, 'responseModalities'));
  if (!isAbsent(field(config, 'speechConfig'))) unsupported(`${param}.speechConfig`, 'OnDemand answers in text only.');
  const includeThoughts = readThinking(field(config, 'thinkingConfig'), params);
  return { params, includeThoughts, responseFormat: readResponseFormat(config) };
}

// ---- tools --------------------------------------------------------------------------------------------------

const UNSUPPORTED_TOOLS = ['codeExecution', 'urlContext', 'fileSearch', 'googleMaps', 'computerUse', 'retrieval', 'enterpriseWebSearch'];

function readFunctionDeclaration(raw: unknown, param: string): ToolSpec {
  const decl = requireObject(raw, param);
  const spec: ToolSpec = { name: requireString(decl.name, `${param}.name`) };
  const description = optionalString(decl.description, `${param}.description`);
  if (description !== undefined) spec.description = description;
  const schema = optionalSchemaAt(field(decl, 'parametersJsonSchema'), `${param}.parametersJsonSchema`, false) ?? optionalSchemaAt(decl.parameters, `${param}.parameters`, true);
  if (schema !== undefined) spec.parameters = schema;
  return spec;
}

function readTools(value: unknown): { tools: ToolSpec[] | undefined; webSearch: WebSearchOptions | undefined } {
  if (isAbsent(value)) return { tools: undefined, webSearch: undefined };
  if (!Array.isArray(value)) wrongType('tools', 'an array', value);
  const tools: ToolSpec[] = [];
  let webSearch: WebSearchOptions | undefined;
  value.forEach((raw: unknown, k) => {
    const param = `tools[${k}]`;
    const tool = requireObject(raw, param);
    for (const name of UNSUPPORTED_TOOLS) {
      if (field(tool, name) !== undefined) unsupported(`${param}.${name}`, 'Only functionDeclarations and googleSearch are supported.');
    }
    // a search the model may run: offered, run as WEB_SEARCH_WHEN_OFFERED says (src/core/plugins.ts)
    if (field(tool, 'googleSearch') !== undefined || field(tool, 'googleSearchRetrieval') !== undefined) webSearch = { mode: 'offered' };
    const decls = field(tool, 'functionDeclarations');
    if (isAbsent(decls)) return;
    if (!Array.isArray(decls)) wrongType(`${param}.functionDeclarations`, 'an array', decls);
    decls.forEach((d: unknown, j) => {
      tools.push(readFunctionDeclaration(d, `${param}.functionDeclarations[${j}]`));
    });
  });
  return { tools: tools.length === 0 ? undefined : tools, webSearch };
}

const MODES = ['AUTO', 'ANY', 'NONE', 'VALIDATED', 'MODE_UNSPECIFIED'];

/** `toolConfig.functionCallingConfig`: AUTO / VALIDATED → auto, ANY → required (one allowed name: that function), NONE → none. */
function readToolConfig(value: unknown, tools: ToolSpec[] | undefined): { toolChoice: ToolChoice | undefined; tools: ToolSpec[] | undefined } {
  if (isAbsent(value)) return { toolChoice: undefined, tools };
  const param = 'toolConfig.functionCallingConfig';
  const fcc = field(requireObject(value, 'toolConfig'), 'functionCallingConfig');
  if (isAbsent(fcc)) return { toolChoice: undefined, tools };
  const config = requireObject(fcc, param);
  const mode = optionalString(config.mode, `${param}.mode`)?.toUpperCase() ?? 'AUTO';
  if (!MODES.includes(mode)) invalidValue(`${param}.mode`, `'${config.mode}'. Supported values are: ${quoteList(MODES.slice(0, 4))}.`);
  if (mode === 'NONE') return { toolChoice: 'none', tools };
  const allowedRaw = field(config, 'allowedFunctionNames');
  let allowed = tools;
  if (!isAbsent(allowedRaw)) {
    if (!Array.isArray(allowedRaw)) wrongType(`${param}.allowedFunctionNames`, 'an array of strings', allowedRaw);
    const names = allowedRaw.map((n: unknown, i) => requireString(n, `${param}.allowedFunctionNames[${i}]`));
    const unknown = names.find((n) => !tools?.some((t) => t.name === n));
    if (unknown !== undefined) invalidValue(`${param}.allowedFunctionNames`, `'${unknown}' is not one of the declared functions.`);
    if (names.length > 0) allowed = tools?.filter((t) => names.includes(t.name));
  }
  if (mode !== 'ANY') return { toolChoice: 'auto', tools: allowed };
  if (allowed === undefined) invalidValue(`${param}.mode`, "'ANY' needs at least one function declaration.");
  const only = allowed.length === 1 ? allowed[0] : undefined;
  return { toolChoice: only === undefined ? 'required' : { name: only.name }, tools: allowed };
}

// ---- the request --------------------------------------------------------------------------------------------

export function parseGenerateContent(body: unknown, init: GeminiRequestInit, options: ParseOptions = {}): ParsedGeminiRequest {
  if (!isObject(body)) throw bodyNotObject();
  const requestedModel = init.model.trim() === '' && options.defaultModel !== undefined ? options.defaultModel : init.model;
  if (!isAbsent(field(body, 'cachedContent'))) unsupported('cachedContent', "cached contents live in Google's cache; send the contents instead.");
  const messages = readContents(body.contents, options.origins);
  const system = readSystem(field(body, 'systemInstruction'));
  if (system !== undefined && system !== '') {
    messages.unshift({ role: 'system', content: system });
    options.origins?.leading('systemInstruction');
  }
  const { params, includeThoughts, responseFormat } = readGenerationConfig(field(body, 'generationConfig'));
  const declared = readTools(body.tools);
  const { toolChoice, tools } = readToolConfig(field(body, 'toolConfig'), declared.tools);
  const request: GatewayRequest = { api: 'gemini', requestedModel, messages, params, stream: init.stream };
  if (tools !== undefined) request.tools = tools;
  if (toolChoice !== undefined) request.toolChoice = toolChoice;
  if (responseFormat !== undefined) request.responseFormat = responseFormat;
  const plugins = pluginRequest(declared.webSearch, readPluginIds(body.ondemand_plugins));
  if (plugins !== undefined) request.plugins = plugins;
  return { request, includeThoughts };
}

/** countTokens: `{contents}` or `{generateContentRequest: {…}}` (with its system instruction and tools). */
export function parseCountTokens(body: unknown, model: string, origins?: MessageOrigins): GatewayRequest {
  if (!isObject(body)) throw bodyNotObject();
  const inner = field(body, 'generateContentRequest');
  const request = isAbsent(inner) ? { contents: body.contents } : requireObject(inner, 'generateContentRequest');
  return parseGenerateContent(request, { model, stream: false }, { origins }).request;
}
