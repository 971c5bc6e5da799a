/**
 * POST /v1/responses: the body → one GatewayRequest.
 *
 * `instructions` becomes the first system message. `input` is a string (one user message) or a list of items:
 * messages (`{role, content}` with `input_text` / `output_text` / `refusal` parts; `developer` reads as system);
 * the calls of earlier turns (`function_call`, `custom_tool_call`, `local_shell_call`, `tool_search_call`: they
 * join the assistant turn before them, as chat's `tool_calls` do) and their results (`function_call_output`,
 * `custom_tool_call_output`, `local_shell_call_output`, `tool_search_output`); `additional_tools` items, whose
 * tools join the request's; `reasoning` items, of which only an `encrypted_content` this gateway sealed is read
 * (shown to the model with the turn it belongs to; docs/tools.md).
 * `previous_response_id` and `conversation` are read here and resolved by the stored-state step
 * (stored-state.ts), which puts the earlier turns before these messages, read by this request's own reader
 * (`readInput` of the parsed request); `prompt` and `background` are refused (400 unsupported_value). The tool
 * kinds: ./tools.ts; `ondemand_plugins` (this gateway's extension) names more OnDemand plugins (docs/plugins.md).
 * `text.format` (json_object, json_schema) asks for structured output, emulated: docs/structured-output.md.
 * `prompt_cache_key`, `client_metadata`, `safety_identifier`, `user`, `store` and `include` values other than
 * `reasoning.encrypted_content` are accepted and change nothing.
 */
import { bodyNotObject, type GatewayError, invalidRequest } from '../../core/errors.js';
import type { MessageOrigins } from '../../core/limits.js';
import type { ReasoningSeal } from '../../core/sealed-reasoning.js';
import type { GatewayRequest, GenerationParams, Message, ResponseFormat, ToolCall, ToolChoice, ToolSpec, WebSearchOptions } from '../../core/types.js';
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
  requireModel,
  type ParseOptions,
  requireString,
  requireText,
  unsupported,
  wrongType,
  type Json,
} from '../validate.js';
import {
  isWebSearchType,
  LOCAL_SHELL_TOOL,
  localShellArguments,
  modelToolName,
  ResponsesToolSet,
  TOOL_SEARCH_TOOL,
  toolSearchResultText,
  type ResponsesToolKind,
} from './tools.js';

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
    /** how each tool the model may call goes back to the client, by the name the model calls it */
    toolKinds: ReadonlyMap<string, ResponsesToolKind>;
    /** reasoning.summary as sent: with one, the thinking is delivered as the summary */
    reasoningSummary: string | null;
    /** include has `reasoning.encrypted_content` */
    encryptedReasoning: boolean;
    /** the stored response this one continues */
    previousResponseId: string | null;
    /** the stored conversation this turn belongs to */
    conversationId: string | null;
  };
  /** the request's `input` as sent: the stored-state step keeps it as the response's input items */
  input: unknown;
  /**
   * Reads items as this request's own input is read: the tools they bring join the request's, sealed reasoning
   * opens, and earlier turns' reasoning is kept or dropped by the same rule (the stored-state step reads the
   * history with it).
   */
  readInput(items: unknown): Message[];
}

export interface ResponsesParseOptions extends ParseOptions {
  /** opens the reasoning items this gateway sealed; without it, reasoning items are dropped */
  reasoningSeal?: ReasoningSeal | undefined;
}

/**
 * Text of a content list. In a message, images and files are refused; in a tool result (`toolOutput`) each
 * becomes a line saying one was there: OnDemand takes no image in a tool result, and refusing would end an agent's
 * conversation (Codex's `view_image` answers with one).
 */
function readContent(value: unknown, param: string, toolOutput = false): string {
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
        if (!toolOutput)
          throw invalidRequest(`${part.type} parts are not supported on /v1/responses yet; send images and files to /v1/chat/completions.`, p, 'unsupported_content');
        texts.push(`[${part.type === 'input_image' ? 'an image' : 'a file'}, not shown: this gateway passes no media in tool results]`);
        return;
      case 'input_audio':
        throw responsesAudioRefusal(p);
      default:
        invalidValue(`${p}.type`, `${JSON.stringify(part.type ?? null)}. Supported values are: ${quoteList(['input_text', 'output_text', 'refusal', 'input_image'])}.`);
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

/** What reading the input needs besides the items: the tool set input items add to, and the seal. */
/** Audio in an input message: the Responses API's messages take none; where to send it instead. */
export function responsesAudioRefusal(param: string): GatewayError {
  return invalidRequest("The Responses API's input messages take no audio; send audio to /v1/chat/completions as an input_audio part (wav or mp3).", param, 'unsupported_content');
}

interface InputContext {
  tools: ResponsesToolSet;
  seal: ReasoningSeal | undefined;
  /** where each message came from, for the limits */
  origins?: MessageOrigins | undefined;
}

const INPUT_ITEM_TYPES = [
  'message',
  'function_call',
  'function_call_output',
  'custom_tool_call',
  'custom_tool_call_output',
  'local_shell_call',
  'local_shell_call_output',
  'tool_search_call',
  'tool_search_output',
  'additional_tools',
  'reasoning',
  'web_search_call',
];

/** Reads input items; `ctx` collects the tools the items bring and opens sealed reasoning (none by default). */
export function readInput(value: unknown, ctx: InputContext = { tools: new ResponsesToolSet(), seal: undefined }): Message[] {
  if (isAbsent(value)) missing('input');
  if (typeof value === 'string') {
    ctx.origins?.entry('input');
    return [{ role: 'user', content: value }];
  }
  if (!Array.isArray(value)) wrongType('input', 'a string or an array of input items', value);
  if (value.length === 0) throw invalidRequest("Invalid 'input': empty array. Expected at least one item.", 'input', 'empty_array');
  const messages: Message[] = [];
  /** reasoning read since the last turn, for the assistant turn it belongs to */
  let reasoning: string | undefined;
  const withReasoning = (earlier: string | undefined): string | undefined => {
    const out = earlier === undefined ? reasoning : reasoning === undefined ? earlier : `${earlier}\n\n${reasoning}`;
    reasoning = undefined;
    return out;
  };
  const push = (message: Message): void => {
    if (message.role === 'assistant') {
      const r = withReasoning(undefined);
      if (r !== undefined) message.reasoning = r;
    } else reasoning = undefined;
    messages.push(message);
  };
  /** a call joins the assistant turn before it, as chat's tool_calls do */
  const addCall = (call: ToolCall): void => {
    const last = messages[messages.length - 1];
    if (last?.role !== 'assistant') {
      push({ role: 'assistant', content: '', toolCalls: [call] });
      return;
    }
    (last.toolCalls ??= []).push(call);
    const r = withReasoning(last.reasoning);
    if (r !== undefined) last.reasoning = r;
  };
  value.forEach((raw: unknown, i) => {
    const before = messages.length;
    readItem(raw, i);
    ctx.origins?.entry(`input[${i}]`, messages.length - before);
  });
  if (messages.length === 0) throw invalidRequest("Invalid 'input': no message in it.", 'input', 'empty_array');
  return messages;

  function readItem(raw: unknown, i: number): void {
    const param = `input[${i}]`;
    if (!isObject(raw)) wrongType(param, 'an object', raw);
    const type = raw.type ?? 'message';
    switch (type) {
      case 'message': {
        const roleName = requireString(raw.role, `${param}.role`);
        const role = ROLES.get(roleName);
        if (role === undefined) invalidValue(`${param}.role`, `'${roleName}'. Supported values are: ${quoteList([...ROLES.keys()])}.`);
        push({ role, content: readContent(raw.content, `${param}.content`) });
        return;
      }
      case 'function_call':
        addCall({
          id: requireString(raw.call_id, `${param}.call_id`),
          name: modelToolName(requireString(raw.name, `${param}.name`), raw.namespace),
          arguments: requireText(raw.arguments, `${param}.arguments`),
        });
        return;
      case 'custom_tool_call':
        addCall({
          id: requireString(raw.call_id, `${param}.call_id`),
          name: modelToolName(requireString(raw.name, `${param}.name`), raw.namespace),
          arguments: requireText(raw.input, `${param}.input`),
          freeform: true,
        });
        return;
      case 'local_shell_call':
        addCall({ id: requireString(raw.call_id ?? raw.id, `${param}.call_id`), name: LOCAL_SHELL_TOOL, arguments: localShellArguments(raw.action, `${param}.action`) });
        return;
      case 'tool_search_call':
        // a search the server ran has no result for the model to read: only a client's search is a call
        if (typeof raw.call_id !== 'string' || raw.execution === 'server') return;
        addCall({ id: raw.call_id, name: TOOL_SEARCH_TOOL, arguments: JSON.stringify(isObject(raw.arguments) ? raw.arguments : {}) });
        return;
      case 'function_call_output':
      case 'custom_tool_call_output':
        push({ role: 'tool', toolCallId: requireString(raw.call_id, `${param}.call_id`), content: readContent(raw.output, `${param}.output`, true) });
        return;
      case 'local_shell_call_output':
        push({ role: 'tool', toolCallId: requireString(raw.call_id ?? raw.id, `${param}.call_id`), content: readContent(raw.output, `${param}.output`, true) });
        return;
      case 'tool_search_output': {
        const before = ctx.tools.specs.length;
        ctx.tools.addList(raw.tools, `${param}.tools`, false);
        if (typeof raw.call_id === 'string' && raw.execution !== 'server') {
          push({ role: 'tool', toolCallId: raw.call_id, content: toolSearchResultText(ctx.tools.specs.slice(before).map((t) => t.name)) });
        }
        return;
      }
      case 'additional_tools':
        ctx.tools.addList(raw.tools, `${param}.tools`, false);
        return;
      case 'reasoning': {
        // only what this gateway sealed is read: a summary or content the client sends back could say anything
        const text = ctx.seal?.open(raw.encrypted_content);
        if (text !== undefined && text !== '') reasoning = reasoning === undefined ? text : `${reasoning}\n\n${text}`;
        return;
      }
      case 'web_search_call':
        // a replayed web search: its sources are in the answer text that follows
        return;
      default:
        unsupported(`${param}.type`, `${JSON.stringify(type)}. Supported item types are: ${quoteList(INPUT_ITEM_TYPES)}.`);
    }
  }
}

/**
 * Earlier reasoning is shown to the model for the turn in progress only (since the last user message), as
 * OpenAI's reasoning models keep it, unless the client asks for every turn's (`reasoning.context: "all_turns"`).
 */
export function keepReasoning(messages: Message[], allTurns: boolean): void {
  if (allTurns) return;
  let lastUser = -1;
  messages.forEach((m, i) => {
    if (m.role === 'user') lastUser = i;
  });
  for (let i = 0; i < lastUser; i++) delete messages[i]?.reasoning;
}

/** `text.format` (structured output); `text.verbosity` and other fields of `text` are ignored. */
function readTextFormat(value: unknown): ResponseFormat | undefined {
  if (isAbsent(value)) return undefined;
  if (!isObject(value)) wrongType('text', 'an object', value);
  return readResponseFormat(value.format, 'text.format', false);
}

const TOOL_CHOICE_TYPES = ['function', 'custom', 'web_search', 'web_search_preview'];

/**
 * `tool_choice`: a mode, or one tool: `{type: "function"|"custom", name, namespace?}`, or the web search
 * (`{type: "web_search"}`: the search is required, so it runs whatever WEB_SEARCH_WHEN_OFFERED says).
 */
function readToolChoice(value: unknown, tools: ResponsesToolSet): { choice?: ToolChoice; forcesWebSearch?: boolean } {
  if (isAbsent(value)) return {};
  const specs = tools.specs;
  if (typeof value === 'string') {
    if (value !== 'auto' && value !== 'none' && value !== 'required') {
      invalidValue('tool_choice', `'${value}'. Supported values are: 'auto', 'none', 'required' or a tool.`);
    }
    if (value === 'required' && specs.length === 0 && tools.webSearch === undefined) invalidValue('tool_choice', "'required' needs at least one entry in 'tools'.");
    return { choice: value };
  }
  if (!isObject(value)) wrongType('tool_choice', 'a string or an object', value);
  if (isWebSearchType(value.type)) {
    if (tools.webSearch === undefined && !tools.webSearchOff) invalidValue('tool_choice', "a web search needs a web_search tool in 'tools'.");
    return { forcesWebSearch: true };
  }
  if (value.type !== 'function' && value.type !== 'custom') {
    unsupported('tool_choice.type', `${JSON.stringify(value.type ?? null)}. Supported values are: ${quoteList(TOOL_CHOICE_TYPES)}.`);
  }
  const name = modelToolName(requireString(value.name, 'tool_choice.name'), value.namespace);
  if (!specs.some((t) => t.name === name)) invalidValue('tool_choice.name', `'${name}' is not one of the tools in 'tools'.`);
  return { choice: { name } };
}

const INCLUDE_ENCRYPTED_REASONING = 'reasoning.encrypted_content';

/** `include`: a list of strings; only `reasoning.encrypted_content` changes what comes back. */
function readInclude(value: unknown): string[] {
  if (isAbsent(value)) return [];
  if (!Array.isArray(value)) wrongType('include', 'an array of strings', value);
  return value.map((item: unknown, k) => {
    if (typeof item !== 'string') wrongType(`include[${k}]`, 'a string', item);
    return item;
  });
}

const SUMMARY_VALUES = ['auto', 'concise', 'detailed'];

/** `reasoning.summary` (or the older `generate_summary`): null when not asked for. */
function readReasoningSummary(reasoning: Json): string | null {
  const param = isAbsent(reasoning.summary) ? 'reasoning.generate_summary' : 'reasoning.summary';
  const value = optionalString(reasoning.summary ?? reasoning.generate_summary, param);
  if (value === undefined || value === 'none') return null;
  if (!SUMMARY_VALUES.includes(value)) invalidValue(param, `'${value}'. Supported values are: ${quoteList([...SUMMARY_VALUES, 'none'])}.`);
  return value;
}

/** Fields that tune OpenAI's own caching and tracing: accepted when well-formed, changing nothing here. */
function checkPassiveFields(body: Json): void {
  optionalString(body.prompt_cache_key, 'prompt_cache_key');
  optionalString(body.safety_identifier, 'safety_identifier');
  optionalString(body.user, 'user');
  if (!isAbsent(body.client_metadata) && !isObject(body.client_metadata)) wrongType('client_metadata', 'an object', body.client_metadata);
}

export function parseResponsesRequest(body: unknown, options: ResponsesParseOptions = {}): ParsedResponsesRequest {
  if (!isObject(body)) throw bodyNotObject();
  const requestedModel = requireModel(body.model, options.defaultModel);
  if (!isAbsent(body.prompt)) unsupported('prompt', 'this gateway stores no prompts; send the prompt in `instructions` and `input`.');
  const previousResponseId = optionalString(body.previous_response_id, 'previous_response_id') ?? null;
  const conversationId = readConversationId(body.conversation);
  if (previousResponseId !== null && conversationId !== null) {
    throw invalidRequest("Mutually exclusive parameters: Ensure you are only providing one of: 'previous_response_id' or 'conversation'.", null, 'mutually_exclusive_parameters');
  }
  if (body.background === true) unsupported('background', 'background responses are not supported.');
  checkPassiveFields(body);
  const instructions = optionalString(body.instructions, 'instructions');
  const toolSet = new ResponsesToolSet();
  toolSet.addList(body.tools, 'tools', true);
  const messages = readInput(body.input, { tools: toolSet, seal: options.reasoningSeal, origins: options.origins });
  if (instructions !== undefined && instructions !== '') {
    messages.unshift({ role: 'system', content: instructions });
    options.origins?.leading('instructions');
  }
  const stream = optionalBoolean(body.stream, 'stream') ?? false;

  const params: GenerationParams = {};
  const temperature = optionalNumberIn(body.temperature, 'temperature', 0, 2);
  if (temperature !== undefined) params.temperature = temperature;
  const topP = optionalNumberIn(body.top_p, 'top_p', 0, 1);
  if (topP !== undefined) params.topP = topP;
  const maxOutputTokens = optionalPositiveInt(body.max_output_tokens, 'max_output_tokens');
  if (maxOutputTokens !== undefined) params.maxTokens = maxOutputTokens;
  let effortName: string | null = null;
  let reasoningSummary: string | null = null;
  let allTurns = false;
  if (!isAbsent(body.reasoning)) {
    if (!isObject(body.reasoning)) wrongType('reasoning', 'an object', body.reasoning);
    const mapped = readReasoningEffort(body.reasoning.effort, 'reasoning.effort');
    if (mapped !== undefined) {
      params.reasoningEffort = mapped;
      effortName = body.reasoning.effort as string;
    }
    reasoningSummary = readReasoningSummary(body.reasoning);
    allTurns = body.reasoning.context === 'all_turns';
  }
  keepReasoning(messages, allTurns);
  const tools: ToolSpec[] | undefined = toolSet.specs.length > 0 ? toolSet.specs : undefined;
  const { choice: toolChoice, forcesWebSearch } = readToolChoice(body.tool_choice, toolSet);
  const parallel = optionalBoolean(body.parallel_tool_calls, 'parallel_tool_calls') ?? true;
  const store = optionalBoolean(body.store, 'store') ?? true;
  const metadata = isAbsent(body.metadata) ? {} : isObject(body.metadata) ? body.metadata : wrongType('metadata', 'an object', body.metadata);
  const format = readTextFormat(body.text);
  const include = readInclude(body.include);

  const request: GatewayRequest = { api: 'responses', requestedModel, messages, params, stream };
  if (tools !== undefined) request.tools = tools;
  if (toolChoice !== undefined) request.toolChoice = toolChoice;
  if (!parallel) request.parallelToolCalls = false;
  if (format !== undefined) request.responseFormat = format;
  let webSearch: WebSearchOptions | undefined = toolSet.webSearch;
  if (webSearch !== undefined && forcesWebSearch === true) webSearch = { ...webSearch, mode: 'required' };
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
      toolKinds: toolSet.kinds,
      reasoningSummary,
      encryptedReasoning: include.includes(INCLUDE_ENCRYPTED_REASONING),
      previousResponseId,
      conversationId,
    },
    input: body.input,
    readInput(items: unknown): Message[] {
      const read = readInput(items, { tools: toolSet, seal: options.reasoningSeal });
      keepReasoning(read, allTurns);
      if (toolSet.specs.length > 0) request.tools = toolSet.specs;
      return read;
    },
  };
}

/** `conversation`: its id, or `{id}`. */
function readConversationId(value: unknown): string | null {
  if (isAbsent(value)) return null;
  if (typeof value === 'string') return requireString(value, 'conversation');
  if (!isObject(value)) wrongType('conversation', 'a string or an object with an id', value);
  return requireString(value.id, 'conversation.id');
}
