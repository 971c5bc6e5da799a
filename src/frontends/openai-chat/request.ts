/**
 * POST /v1/chat/completions: the client's JSON body → one validated GatewayRequest, in OnDemand's terms.
 *
 * Every rejection is an OpenAI-shaped 400 whose `param` names the field (`messages[2].content`, `temperature`)
 * and whose `code` is stable (missing_required_parameter, invalid_type, invalid_value, empty_array,
 * unsupported_value, unsupported_content), so clients and tests branch on codes, never on text.
 * `response_format` json_object / json_schema asks for structured output, emulated (docs/structured-output.md).
 * `web_search_options` runs OnDemand's Internet Search; `ondemand_plugins` (this gateway's extension) names more
 * OnDemand plugins (docs/plugins.md). Image, file and `input_audio` (wav, mp3) parts become media the engine
 * uploads (docs/models.md); audio output (`modalities: ["audio"]`) is refused.
 * `null` for an optional field means "not set", as OpenAI reads it. Unknown fields are ignored: real clients
 * send `user`, `seed`, `logprobs`, `parallel_tool_calls`, `metadata`, `store` and more.
 */
import { invalidRequest, bodyNotObject } from '../../core/errors.js';
import type { MessageOrigins } from '../../core/limits.js';
import { audioOutputRefusal, fileIdRefusal, inputAudioToMediaPart } from '../../core/media.js';
import type { GatewayRequest, GenerationParams, MediaPart, Message, Role, ToolCall, ToolChoice, ToolSpec, WebSearchOptions } from '../../core/types.js';
import {
  invalidValue,
  isAbsent,
  isObject,
  missing,
  optionalBoolean,
  optionalPositiveInt,
  optionalString,
  pluginRequest,
  quoteList,
  readPluginIds,
  readResponseFormat,
  readUserLocation,
  readSamplingParams,
  requireObject,
  readReasoningEffort,
  requireModel,
  type ParseOptions,
  readStopList,
  readToolList,
  readToolSpec,
  requireString,
  wrongType,
  type Json,
} from '../validate.js';

export interface ParsedChatRequest {
  request: GatewayRequest;
  /** stream_options.include_usage on a streaming request: the renderer adds the `choices: []` usage chunk */
  includeUsage: boolean;
}

export interface ChatRequestOptions extends ParseOptions {
  /** Let image, file and audio parts through as Message.media (the chat route does); off, they are refused with a 400. */
  acceptMedia?: boolean;
}

// ---- fields ------------------------------------------------------------------------------------------------

function readN(value: unknown): void {
  if (isAbsent(value) || value === 1) return;
  throw invalidRequest(`Invalid 'n': ${JSON.stringify(value)}. Only n=1 is supported: OnDemand returns one choice per request.`, 'n', 'unsupported_value');
}

function readIncludeUsage(value: unknown): boolean {
  if (isAbsent(value)) return false;
  if (!isObject(value)) wrongType('stream_options', 'an object', value);
  return optionalBoolean(value.include_usage, 'stream_options.include_usage') ?? false;
}

function readParams(body: Json): GenerationParams {
  const params = readSamplingParams(body);
  // max_tokens is deprecated in favour of max_completion_tokens; both are checked, the newer one wins
  const maxTokens = optionalPositiveInt(body.max_tokens, 'max_tokens');
  const maxCompletionTokens = optionalPositiveInt(body.max_completion_tokens, 'max_completion_tokens');
  const max = maxCompletionTokens ?? maxTokens;
  if (max !== undefined) params.maxTokens = max;
  const stop = readStopList(body.stop, 'stop', 4);
  if (stop !== undefined) params.stop = stop;
  const reasoningEffort = readReasoningEffort(body.reasoning_effort, 'reasoning_effort');
  if (reasoningEffort !== undefined) params.reasoningEffort = reasoningEffort;
  return params;
}

/** Spoken answers (`modalities: ["audio"]`, `audio`) are refused: OnDemand answers in text. */
function refuseAudioOutput(body: Json): void {
  if (Array.isArray(body.modalities) && body.modalities.includes('audio')) throw audioOutputRefusal('modalities');
  if (!isAbsent(body.audio)) throw audioOutputRefusal('audio');
}

// ---- content ------------------------------------------------------------------------------------------------

export interface ConvertedContent {
  text: string;
  media: MediaPart[];
}

function unsupportedMedia(type: unknown, param: string): never {
  throw invalidRequest(`Content parts of type ${JSON.stringify(type)} are not accepted here.`, param, 'unsupported_content');
}

/** An image, file or audio part → MediaPart; a file known only by its `file_id` is refused. */
function toMediaPart(part: Json, param: string): MediaPart {
  if (part.type === 'input_audio') return readInputAudio(part.input_audio, `${param}.input_audio`);
  if (part.type === 'image_url') {
    const image = part.image_url;
    const url = typeof image === 'string' ? image : isObject(image) ? image.url : undefined;
    return { kind: 'image', url: requireString(url, `${param}.image_url.url`) };
  }
  if (part.type === 'file' && isObject(part.file) && typeof part.file.file_data === 'string') {
    const name = optionalString(part.file.filename, `${param}.file.filename`);
    const media: MediaPart = { kind: 'file', url: requireString(part.file.file_data, `${param}.file.file_data`) };
    if (name !== undefined) media.name = name;
    return media;
  }
  const fileId = isObject(part.file) && typeof part.file.file_id === 'string' ? part.file.file_id : undefined;
  throw fileIdRefusal(fileId, param);
}

/** `input_audio: {data, format}` (base64 wav or mp3), as the openai SDK sends it. */
function readInputAudio(value: unknown, param: string): MediaPart {
  const audio = requireObject(value, param);
  return inputAudioToMediaPart(requireString(audio.data, `${param}.data`), requireString(audio.format, `${param}.format`), param);
}

const MEDIA_PART_TYPES: ReadonlySet<unknown> = new Set(['image_url', 'input_audio', 'file']);

/**
 * An array content → text (the text parts joined with "\n") and media. `param` is the content's path, e.g.
 * `messages[1].content`. Media parts are refused with `unsupported_content` unless `acceptMedia`.
 */
export function convertContentParts(parts: readonly unknown[], param: string, acceptMedia: boolean): ConvertedContent {
  const texts: string[] = [];
  const media: MediaPart[] = [];
  parts.forEach((part, j) => {
    const partParam = `${param}[${j}]`;
    if (!isObject(part)) wrongType(partParam, 'an object', part);
    if (part.type === 'text') {
      if (isAbsent(part.text)) missing(`${partParam}.text`);
      if (typeof part.text !== 'string') wrongType(`${partParam}.text`, 'a string', part.text);
      texts.push(part.text);
    } else if (part.type === 'refusal') {
      // an assistant turn replayed from history
      if (typeof part.refusal !== 'string') wrongType(`${partParam}.refusal`, 'a string', part.refusal);
      texts.push(part.refusal);
    } else if (MEDIA_PART_TYPES.has(part.type)) {
      if (!acceptMedia) unsupportedMedia(part.type, partParam);
      media.push(toMediaPart(part, partParam));
    } else {
      invalidValue(`${partParam}.type`, `${JSON.stringify(part.type ?? null)}. Supported values are: ${quoteList(['text', 'refusal', 'image_url', 'input_audio', 'file'])}.`);
    }
  });
  return { text: texts.join('\n'), media };
}

/** `content` of one message; `null` (or absent) only where `nullable` (an assistant turn that called tools). */
function readContent(value: unknown, param: string, nullable: boolean, acceptMedia: boolean): ConvertedContent {
  if (isAbsent(value)) {
    if (nullable) return { text: '', media: [] };
    missing(param);
  }
  if (typeof value === 'string') return { text: value, media: [] };
  if (Array.isArray(value)) return convertContentParts(value, param, acceptMedia);
  return wrongType(param, 'a string or an array of content parts', value);
}

// ---- messages -----------------------------------------------------------------------------------------------

const ROLES: ReadonlyMap<string, Role> = new Map([
  ['system', 'system'],
  ['developer', 'system'],
  ['user', 'user'],
  ['assistant', 'assistant'],
  ['tool', 'tool'],
  ['function', 'tool'],
]);

function readToolCalls(value: unknown, param: string): ToolCall[] | undefined {
  if (isAbsent(value)) return undefined;
  if (!Array.isArray(value)) wrongType(param, 'an array', value);
  if (value.length === 0) return undefined;
  return value.map((call: unknown, k): ToolCall => {
    const callParam = `${param}[${k}]`;
    if (!isObject(call)) wrongType(callParam, 'an object', call);
    if (!isAbsent(call.type) && call.type !== 'function') {
      invalidValue(`${callParam}.type`, `${JSON.stringify(call.type)}. Supported values are: 'function'.`);
    }
    const id = requireString(call.id, `${callParam}.id`);
    const fn = call.function;
    if (isAbsent(fn)) missing(`${callParam}.function`);
    if (!isObject(fn)) wrongType(`${callParam}.function`, 'an object', fn);
    const name = requireString(fn.name, `${callParam}.function.name`);
    if (isAbsent(fn.arguments)) missing(`${callParam}.function.arguments`);
    if (typeof fn.arguments !== 'string') wrongType(`${callParam}.function.arguments`, 'a string', fn.arguments);
    return { id, name, arguments: fn.arguments };
  });
}

/**
 * Legacy `function_call` on an assistant turn. Legacy calls have no id: they pair with the `function` message
 * that answers them by name, so the name serves as the id on both sides.
 */
function readLegacyFunctionCall(value: unknown, param: string): ToolCall[] | undefined {
  if (isAbsent(value)) return undefined;
  if (!isObject(value)) wrongType(param, 'an object', value);
  const name = requireString(value.name, `${param}.name`);
  const args = optionalString(value.arguments, `${param}.arguments`) ?? '';
  return [{ id: name, name, arguments: args }];
}

function readMessage(raw: unknown, i: number, acceptMedia: boolean): Message {
  const param = `messages[${i}]`;
  if (!isObject(raw)) wrongType(param, 'an object', raw);
  if (isAbsent(raw.role)) missing(`${param}.role`);
  if (typeof raw.role !== 'string') wrongType(`${param}.role`, 'a string', raw.role);
  const role = ROLES.get(raw.role);
  if (role === undefined) {
    invalidValue(`${param}.role`, `'${raw.role}'. Supported values are: ${quoteList([...ROLES.keys()])}.`);
  }

  const message: Message = { role, content: '' };
  const name = optionalString(raw.name, `${param}.name`);
  if (name !== undefined) message.name = name;

  if (raw.role === 'assistant') {
    const toolCalls = readToolCalls(raw.tool_calls, `${param}.tool_calls`) ?? readLegacyFunctionCall(raw.function_call, `${param}.function_call`);
    if (toolCalls !== undefined) message.toolCalls = toolCalls;
    setContent(message, readContent(raw.content, `${param}.content`, toolCalls !== undefined, acceptMedia));
  } else if (raw.role === 'tool') {
    message.toolCallId = requireString(raw.tool_call_id, `${param}.tool_call_id`);
    setContent(message, readContent(raw.content, `${param}.content`, false, acceptMedia));
  } else if (raw.role === 'function') {
    message.toolCallId = requireString(raw.name, `${param}.name`);
    setContent(message, readContent(raw.content, `${param}.content`, true, acceptMedia));
  } else {
    setContent(message, readContent(raw.content, `${param}.content`, false, acceptMedia));
  }
  return message;
}

function setContent(message: Message, content: ConvertedContent): void {
  message.content = content.text;
  if (content.media.length > 0) message.media = content.media;
}

function readMessages(value: unknown, acceptMedia: boolean, origins: MessageOrigins | undefined): Message[] {
  if (isAbsent(value)) missing('messages');
  if (!Array.isArray(value)) wrongType('messages', 'an array of message objects', value);
  if (value.length === 0) {
    throw invalidRequest("Invalid 'messages': empty array. Expected an array with minimum length 1.", 'messages', 'empty_array');
  }
  return value.map((raw: unknown, i) => {
    origins?.entry(`messages[${i}]`);
    return readMessage(raw, i, acceptMedia);
  });
}

// ---- tools --------------------------------------------------------------------------------------------------

function readTools(value: unknown): ToolSpec[] | undefined {
  return readToolList(value, (tool, k) => {
    const param = `tools[${k}]`;
    if (!isObject(tool)) wrongType(param, 'an object', tool);
    if (tool.type !== 'function') {
      invalidValue(`${param}.type`, `${JSON.stringify(tool.type ?? null)}. Supported values are: 'function'.`);
    }
    const fn = tool.function;
    if (isAbsent(fn)) missing(`${param}.function`);
    if (!isObject(fn)) wrongType(`${param}.function`, 'an object', fn);
    return readToolSpec(fn, `${param}.function`, 'parameters');
  });
}

const TOOL_CHOICE_MODES: readonly string[] = ['auto', 'none', 'required'];

function readToolChoice(value: unknown, tools: readonly ToolSpec[] | undefined): ToolChoice | undefined {
  if (isAbsent(value)) return undefined;
  if (typeof value === 'string') {
    if (!TOOL_CHOICE_MODES.includes(value)) {
      invalidValue('tool_choice', `'${value}'. Supported values are: ${quoteList(TOOL_CHOICE_MODES)} or a function.`);
    }
    if (value === 'required' && tools === undefined) {
      invalidValue('tool_choice', "'required' needs at least one entry in 'tools'.");
    }
    return value as 'auto' | 'none' | 'required';
  }
  if (!isObject(value)) wrongType('tool_choice', 'a string or an object', value);
  if (value.type !== 'function') {
    invalidValue('tool_choice.type', `${JSON.stringify(value.type ?? null)}. Supported values are: 'function'.`);
  }
  if (!isObject(value.function)) wrongType('tool_choice.function', 'an object', value.function);
  const name = requireString(value.function.name, 'tool_choice.function.name');
  if (!tools?.some((tool) => tool.name === name)) {
    invalidValue('tool_choice.function.name', `'${name}' is not one of the functions in 'tools'.`);
  }
  return { name };
}

// ---- web search -----------------------------------------------------------------------------------------------

const CONTEXT_SIZES: readonly string[] = ['low', 'medium', 'high'];

/** `web_search_options`: `{}` is enough to ask for a search; its fields are checked and kept. */
function readWebSearchOptions(value: unknown): WebSearchOptions | undefined {
  if (isAbsent(value)) return undefined;
  if (!isObject(value)) wrongType('web_search_options', 'an object', value);
  const out: WebSearchOptions = {};
  const size = optionalString(value.search_context_size, 'web_search_options.search_context_size');
  if (size !== undefined) {
    if (!CONTEXT_SIZES.includes(size)) invalidValue('web_search_options.search_context_size', `'${size}'. Supported values are: ${quoteList(CONTEXT_SIZES)}.`);
    out.contextSize = size as 'low' | 'medium' | 'high';
  }
  const location = readUserLocation(value.user_location, 'web_search_options.user_location');
  if (location !== undefined) out.userLocation = location;
  return out;
}

// ---- the request --------------------------------------------------------------------------------------------

/** Validates a chat-completions body; throws invalidRequest (400) naming the first bad field. */
export function parseChatRequest(body: unknown, options: ChatRequestOptions = {}): ParsedChatRequest {
  if (!isObject(body)) {
    throw bodyNotObject();
  }
  const requestedModel = requireModel(body.model, options.defaultModel, " OpenAI's chat completions API requires it; send the model name or alias to use.");
  const messages = readMessages(body.messages, options.acceptMedia ?? false, options.origins);
  const stream = optionalBoolean(body.stream, 'stream') ?? false;
  const includeUsage = readIncludeUsage(body.stream_options);
  readN(body.n);
  refuseAudioOutput(body);
  const params = readParams(body);
  const tools = readTools(body.tools);
  const toolChoice = readToolChoice(body.tool_choice, tools);
  const responseFormat = readResponseFormat(body.response_format, 'response_format', true);

  const request: GatewayRequest = { api: 'chat', requestedModel, messages, params, stream };
  if (tools !== undefined) request.tools = tools;
  if (toolChoice !== undefined) request.toolChoice = toolChoice;
  if (responseFormat !== undefined) request.responseFormat = responseFormat;
  const plugins = pluginRequest(readWebSearchOptions(body.web_search_options), readPluginIds(body.ondemand_plugins));
  if (plugins !== undefined) request.plugins = plugins;
  // a refused web search is named by chat's own switch
  if (plugins?.webSearch !== undefined) request.webSearchParam = 'web_search_options';
  // OpenAI only honours stream_options on a stream; a non-stream answer always carries usage anyway
  return { request, includeUsage: stream && includeUsage };
}
