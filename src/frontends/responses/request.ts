/**
 * POST /v1/responses: the body → one GatewayRequest.
 *
 * `instructions` becomes the first system message. `input` is a string (one user message) or a list of items:
 * messages (`{role, content}` with `input_text` / `output_text` / `refusal` parts; `developer` reads as system),
 * `function_call` items (they join the assistant turn before them, as chat's `tool_calls` do), and
 * `function_call_output` items (tool results); `reasoning` items are skipped (OnDemand cannot take them back).
 * `previous_response_id` and `conversation` are read here and resolved by the stored-state step
 * (stored-state.ts), which puts the earlier turns before these messages; `prompt` and `background` are refused
 * (400 unsupported_value). `function` tools are emulated; a `web_search`
 * (or `web_search_preview`) tool runs OnDemand's Internet Search, and `ondemand_plugins` (this gateway's
 * extension) names more OnDemand plugins (docs/plugins.md). No other built-in tool is supported.
 * `text.format` (json_object, json_schema) asks for structured output, emulated: docs/structured-output.md.
 */
import { invalidRequest } from '../../core/errors.js';
import { audioInputRefusal } from '../../core/media.js';
import type { GatewayRequest, GenerationParams, Message, ResponseFormat, ToolChoice, ToolSpec, WebSearchOptions } from '../../core/types.js';
import {
  invalidValue,
  isAbsent,
  isObject,
  missing,
  optionalBoolean,
  optionalNumberIn,
  optionalPositiveInt,
  optionalString,
  pluginRequest,
  quoteList,
  readPluginIds,
  readReasoningEffort,
  readResponseFormat,
  readToolList,
  readToolSpec,
  readUserLocation,
  requireModel,
  type ParseOptions,
  requireString,
  requireText,
  unsupported,
  wrongType,
  type Json,
} from '../validate.js';

export interface ParsedResponsesRequest {
  request: GatewayRequest;
  /** echoed back in the response object */
  echo: {
    instructions: string | null;
    maxOutputTokens: number | null;
    temperature: number | null;
    topP: number | null;
    /** the client's tools and tool_choice, as sent */
    tools: unknown[];
    toolChoice: unknown;
    parallelToolCalls: boolean;
    metadata: Record<string, unknown>;
    reasoningEffort: string | null;
    store: boolean;
    /** text.format; null is plain text */
    format: ResponseFormat | null;
    /** the stored response this one continues */
    previousResponseId: string | null;
    /** the stored conversation this turn belongs to */
    conversationId: string | null;
  };
  /** the request's `input` as sent: the stored-state step keeps it as the response's input items */
  input: unknown;
}

/** text of a content list; images and files are refused */
function readContent(value: unknown, param: string): string {
  if (typeof value === 'string') return value;
  if (isAbsent(value)) missing(param);
  if (!Array.isArray(value)) wrongType(param, 'a string or an array of content parts', value);
  const texts: string[] = [];
  value.forEach((part: unknown, j) => {
    const p = `${param}[${j}]`;
    if (!isObject(part)) wrongType(p, 'an object', part);
    switch (part.type) {
      case 'input_text':
      case 'output_text':
      case 'text':
      case 'summary_text':
      case 'reasoning_text':
        texts.push(requireText(part.text, `${p}.text`));
        return;
      case 'refusal':
        texts.push(requireText(part.refusal, `${p}.refusal`));
        return;
      case 'input_image':
      case 'input_file':
        throw invalidRequest(`${part.type} parts are not supported on /v1/responses yet; send images and files to /v1/chat/completions.`, p, 'unsupported_content');
      case 'input_audio':
        throw audioInputRefusal('responses', p);
      default:
        invalidValue(`${p}.type`, `${JSON.stringify(part.type ?? null)}. Supported values are: ${quoteList(['input_text', 'output_text', 'refusal'])}.`);
    }
  });
  return texts.join('\n');
}

const ROLES: ReadonlyMap<string, Message['role']> = new Map([
  ['user', 'user'],
  ['assistant', 'assistant'],
  ['system', 'system'],
  ['developer', 'system'],
]);

export function readInput(value: unknown): Message[] {
  if (isAbsent(value)) missing('input');
  if (typeof value === 'string') return [{ role: 'user', content: value }];
  if (!Array.isArray(value)) wrongType('input', 'a string or an array of input items', value);
  if (value.length === 0) throw invalidRequest("Invalid 'input': empty array. Expected at least one item.", 'input', 'empty_array');
  const messages: Message[] = [];
  value.forEach((raw: unknown, i) => {
    const param = `input[${i}]`;
    if (!isObject(raw)) wrongType(param, 'an object', raw);
    const type = raw.type ?? 'message';
    switch (type) {
      case 'message': {
        const roleName = requireString(raw.role, `${param}.role`);
        const role = ROLES.get(roleName);
        if (role === undefined) invalidValue(`${param}.role`, `'${roleName}'. Supported values are: ${quoteList([...ROLES.keys()])}.`);
        messages.push({ role, content: readContent(raw.content, `${param}.content`) });
        return;
      }
      case 'function_call': {
        const call = {
          id: requireString(raw.call_id, `${param}.call_id`),
          name: requireString(raw.name, `${param}.name`),
          arguments: requireText(raw.arguments, `${param}.arguments`),
        };
        const last = messages[messages.length - 1];
        if (last?.role === 'assistant') (last.toolCalls ??= []).push(call);
        else messages.push({ role: 'assistant', content: '', toolCalls: [call] });
        return;
      }
      case 'function_call_output':
        messages.push({
          role: 'tool',
          toolCallId: requireString(raw.call_id, `${param}.call_id`),
          content: readContent(raw.output, `${param}.output`),
        });
        return;
      case 'reasoning':
      case 'web_search_call':
        // a replayed web search: its sources are in the answer text that follows
        return;
      default:
        unsupported(`${param}.type`, `${JSON.stringify(type)}. Supported item types are: 'message', 'function_call', 'function_call_output', 'reasoning', 'web_search_call'.`);
    }
  });
  if (messages.length === 0) throw invalidRequest("Invalid 'input': no message in it.", 'input', 'empty_array');
  return messages;
}

/** The Responses API's web search tool types, current and preview. */
const WEB_SEARCH_TOOLS: ReadonlySet<unknown> = new Set(['web_search', 'web_search_preview', 'web_search_2025_08_26', 'web_search_preview_2025_03_11']);

/** The client tools, and the web search switch when one of the tools is a web search. */
function readTools(value: unknown): { tools: ToolSpec[] | undefined; webSearch: WebSearchOptions | undefined } {
  let webSearch: WebSearchOptions | undefined;
  const tools = readToolList(value, (tool, k) => {
    const param = `tools[${k}]`;
    if (!isObject(tool)) wrongType(param, 'an object', tool);
    if (WEB_SEARCH_TOOLS.has(tool.type)) {
      webSearch = readWebSearchTool(tool, param);
      return undefined;
    }
    if (tool.type !== 'function') unsupported(`${param}.type`, `${JSON.stringify(tool.type ?? null)}. Only 'function' and 'web_search' tools are supported.`);
    return readToolSpec(tool, param, 'parameters');
  });
  return { tools, webSearch };
}

/** `{type: "web_search", search_context_size?, user_location?}`; domain filters cannot be honoured upstream, so they are refused. */
function readWebSearchTool(tool: Json, param: string): WebSearchOptions {
  const out: WebSearchOptions = {};
  const size = optionalString(tool.search_context_size, `${param}.search_context_size`);
  if (size !== undefined) {
    if (size !== 'low' && size !== 'medium' && size !== 'high') invalidValue(`${param}.search_context_size`, `'${size}'. Supported values are: 'low', 'medium', 'high'.`);
    out.contextSize = size;
  }
  const location = readUserLocation(tool.user_location, `${param}.user_location`);
  if (location !== undefined) out.userLocation = location;
  if (isObject(tool.filters) && !isAbsent(tool.filters.allowed_domains)) {
    unsupported(`${param}.filters.allowed_domains`, "OnDemand's Internet Search takes no domain list.");
  }
  return out;
}

/** `text.format` (structured output); `text.verbosity` and other fields of `text` are ignored. */
function readTextFormat(value: unknown): ResponseFormat | undefined {
  if (isAbsent(value)) return undefined;
  if (!isObject(value)) wrongType('text', 'an object', value);
  return readResponseFormat(value.format, 'text.format', false);
}

function readToolChoice(value: unknown, tools: ToolSpec[] | undefined): ToolChoice | undefined {
  if (isAbsent(value)) return undefined;
  if (typeof value === 'string') {
    if (value !== 'auto' && value !== 'none' && value !== 'required') {
      invalidValue('tool_choice', `'${value}'. Supported values are: 'auto', 'none', 'required' or a function.`);
    }
    if (value === 'required' && tools === undefined) invalidValue('tool_choice', "'required' needs at least one entry in 'tools'.");
    return value;
  }
  if (!isObject(value)) wrongType('tool_choice', 'a string or an object', value);
  if (value.type !== 'function') unsupported('tool_choice.type', `${JSON.stringify(value.type ?? null)}. Only 'function' is supported.`);
  const name = requireString(value.name, 'tool_choice.name');
  if (!tools?.some((t) => t.name === name)) invalidValue('tool_choice.name', `'${name}' is not one of the functions in 'tools'.`);
  return { name };
}

export function parseResponsesRequest(body: unknown, options: ParseOptions = {}): ParsedResponsesRequest {
  if (!isObject(body)) throw invalidRequest('The request body must be a JSON object.', null, 'invalid_type');
  const requestedModel = requireModel(body.model, options.defaultModel);
  if (!isAbsent(body.prompt)) unsupported('prompt', 'this gateway stores no prompts; send the prompt in `instructions` and `input`.');
  const previousResponseId = optionalString(body.previous_response_id, 'previous_response_id') ?? null;
  const conversationId = readConversationId(body.conversation);
  if (previousResponseId !== null && conversationId !== null) {
    throw invalidRequest("Mutually exclusive parameters: Ensure you are only providing one of: 'previous_response_id' or 'conversation'.", null, 'mutually_exclusive_parameters');
  }
  if (body.background === true) unsupported('background', 'background responses are not supported.');
  const instructions = optionalString(body.instructions, 'instructions');
  const messages = readInput(body.input);
  if (instructions !== undefined && instructions !== '') messages.unshift({ role: 'system', content: instructions });
  const stream = optionalBoolean(body.stream, 'stream') ?? false;

  const params: GenerationParams = {};
  const temperature = optionalNumberIn(body.temperature, 'temperature', 0, 2);
  if (temperature !== undefined) params.temperature = temperature;
  const topP = optionalNumberIn(body.top_p, 'top_p', 0, 1);
  if (topP !== undefined) params.topP = topP;
  const maxOutputTokens = optionalPositiveInt(body.max_output_tokens, 'max_output_tokens');
  if (maxOutputTokens !== undefined) params.maxTokens = maxOutputTokens;
  let effortName: string | null = null;
  if (!isAbsent(body.reasoning)) {
    if (!isObject(body.reasoning)) wrongType('reasoning', 'an object', body.reasoning);
    const mapped = readReasoningEffort(body.reasoning.effort, 'reasoning.effort');
    if (mapped !== undefined) {
      params.reasoningEffort = mapped;
      effortName = body.reasoning.effort as string;
    }
  }
  const { tools, webSearch } = readTools(body.tools);
  const toolChoice = readToolChoice(body.tool_choice, tools);
  const parallel = optionalBoolean(body.parallel_tool_calls, 'parallel_tool_calls') ?? true;
  const store = optionalBoolean(body.store, 'store') ?? true;
  const metadata = isAbsent(body.metadata) ? {} : isObject(body.metadata) ? body.metadata : wrongType('metadata', 'an object', body.metadata);
  const format = readTextFormat(body.text);

  const request: GatewayRequest = { api: 'responses', requestedModel, messages, params, stream };
  if (tools !== undefined) request.tools = tools;
  if (toolChoice !== undefined) request.toolChoice = toolChoice;
  if (format !== undefined) request.responseFormat = format;
  const plugins = pluginRequest(webSearch, readPluginIds(body.ondemand_plugins));
  if (plugins !== undefined) request.plugins = plugins;
  return {
    request,
    echo: {
      instructions: instructions ?? null,
      maxOutputTokens: maxOutputTokens ?? null,
      temperature: temperature ?? null,
      topP: topP ?? null,
      tools: Array.isArray(body.tools) ? (body.tools as Json[]) : [],
      toolChoice: body.tool_choice ?? 'auto',
      parallelToolCalls: parallel,
      metadata,
      reasoningEffort: effortName,
      store,
      format: format ?? null,
      previousResponseId,
      conversationId,
    },
    input: body.input,
  };
}

/** `conversation`: its id, or `{id}`. */
function readConversationId(value: unknown): string | null {
  if (isAbsent(value)) return null;
  if (typeof value === 'string') return requireString(value, 'conversation');
  if (!isObject(value)) wrongType('conversation', 'a string or an object with an id', value);
  return requireString(value.id, 'conversation.id');
}
