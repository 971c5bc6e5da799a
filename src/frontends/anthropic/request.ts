/**
 * POST /v1/messages (Anthropic Messages API): the body → one GatewayRequest.
 *
 * `system` (a string or text blocks) becomes the first system message; a `role: "system"` entry among the turns
 * (text only) becomes a system message in its place. Message content is a string or blocks:
 * `text`; `tool_use` (assistant) → tool calls; `tool_result` (user) → tool messages, placed before the rest of
 * that user turn's text; `thinking` / `redacted_thinking` are skipped (OnDemand cannot take them back); image
 * and document blocks in a user turn become media, uploaded by the engine (src/core/media.ts). `thinking: {type:"enabled", budget_tokens}` maps to OnDemand's
 * reasoningEffort (< 4096 low, < 16384 medium, else max); `output_config.effort`, when given, decides instead
 * (low → low, medium → medium, high / xhigh / max → max). `top_k`, `metadata`, `service_tier` are ignored.
 * The server tool `{type: "web_search_20250305", name: "web_search"}` runs OnDemand's Internet Search, and the
 * top-level `ondemand_plugins` (this gateway's extension) names more OnDemand plugins (docs/plugins.md); a web
 * search replayed in an assistant turn (`server_tool_use`, `web_search_tool_result`) is skipped like thinking.
 */
import { invalidRequest, bodyNotObject } from '../../core/errors.js';
import type { MessageOrigins } from '../../core/limits.js';
import type { GatewayRequest, GenerationParams, MediaPart, Message, ReasoningEffort, ToolCall, ToolChoice, ToolSpec, WebSearchOptions } from '../../core/types.js';
import { anthropicAudioRefusal, anthropicBlockToMediaPart } from './media.js';
import {
  invalidValue,
  isAbsent,
  isObject,
  missing,
  optionalBoolean,
  optionalNumberIn,
  optionalPositiveInt,
  pluginRequest,
  quoteList,
  readPluginIds,
  readStopList,
  readToolList,
  readToolSpec,
  readUserLocation,
  requireModel,
  type ParseOptions,
  requireObject,
  requireString,
  requireText,
  unsupported,
  wrongType,
} from '../validate.js';

export interface MessagesRequestOptions extends ParseOptions {
  /** count_tokens takes the same body without max_tokens */
  requireMaxTokens?: boolean;
}

function textOfBlocks(value: unknown, param: string, allowed: ReadonlySet<string>): string {
  if (typeof value === 'string') return value;
  if (isAbsent(value)) missing(param);
  if (!Array.isArray(value)) wrongType(param, 'a string or an array of content blocks', value);
  const texts: string[] = [];
  value.forEach((block: unknown, j) => {
    const p = `${param}.${j}`;
    if (!isObject(block)) wrongType(p, 'an object', block);
    if (block.type === 'text') texts.push(requireText(block.text, `${p}.text`));
    else if (typeof block.type === 'string' && allowed.has(block.type)) return;
    else if (block.type === 'image' || block.type === 'document') {
      throw invalidRequest(`${p}: ${block.type} blocks are accepted only directly in a user turn's content, not here.`, p, 'unsupported_content');
    } else if (block.type === 'audio' || block.type === 'input_audio') throw anthropicAudioRefusal(p);
    else invalidValue(`${p}.type`, `${JSON.stringify(block.type ?? null)}. Supported block types here are: ${quoteList(['text', ...allowed])}.`);
  });
  return texts.join('\n');
}

const NOTHING: ReadonlySet<string> = new Set();
const ASSISTANT_SKIPPED: ReadonlySet<string> = new Set(['thinking', 'redacted_thinking', 'server_tool_use', 'web_search_tool_result']);

function readUserTurn(raw: unknown[], param: string): Message[] {
  const out: Message[] = [];
  const texts: string[] = [];
  const media: MediaPart[] = [];
  raw.forEach((block: unknown, j) => {
    const p = `${param}.${j}`;
    if (!isObject(block)) wrongType(p, 'an object', block);
    if (block.type === 'image' || block.type === 'document') {
      media.push(anthropicBlockToMediaPart(block, p));
    } else if (block.type === 'tool_result') {
      const id = requireString(block.tool_use_id, `${p}.tool_use_id`);
      let content = isAbsent(block.content) ? '' : textOfBlocks(block.content, `${p}.content`, NOTHING);
      if (optionalBoolean(block.is_error, `${p}.is_error`) === true) content = `Error: ${content}`;
      out.push({ role: 'tool', toolCallId: id, content });
    } else texts.push(textOfBlocks([block], param, NOTHING));
  });
  if (texts.length > 0 || media.length > 0 || out.length === 0) {
    out.push(media.length > 0 ? { role: 'user', content: texts.join('\n'), media } : { role: 'user', content: texts.join('\n') });
  }
  return out;
}

function readAssistantTurn(raw: unknown[], param: string): Message {
  const texts: string[] = [];
  const calls: ToolCall[] = [];
  raw.forEach((block: unknown, j) => {
    const p = `${param}.${j}`;
    if (!isObject(block)) wrongType(p, 'an object', block);
    if (block.type === 'tool_use') {
      const input = block.input ?? {};
      if (!isObject(input)) wrongType(`${p}.input`, 'an object', input);
      calls.push({ id: requireString(block.id, `${p}.id`), name: requireString(block.name, `${p}.name`), arguments: JSON.stringify(input) });
    } else {
      const text = textOfBlocks([block], param, ASSISTANT_SKIPPED);
      if (block.type === 'text') texts.push(text);
    }
  });
  const message: Message = { role: 'assistant', content: texts.join('\n') };
  if (calls.length > 0) message.toolCalls = calls;
  return message;
}

function readMessages(value: unknown, origins: MessageOrigins | undefined): Message[] {
  if (isAbsent(value)) missing('messages');
  if (!Array.isArray(value)) wrongType('messages', 'an array', value);
  if (value.length === 0) throw invalidRequest('messages: at least one message is required', 'messages', 'empty_array');
  const messages: Message[] = [];
  value.forEach((raw: unknown, i) => {
    const param = `messages.${i}`;
    const before = messages.length;
    readMessage(raw, param, messages);
    origins?.entry(`messages[${i}]`, messages.length - before);
  });
  return messages;
}

function readMessage(raw: unknown, param: string, messages: Message[]): void {
  const m = requireObject(raw, param);
  const role = requireString(m.role, `${param}.role`);
  if (role !== 'user' && role !== 'assistant' && role !== 'system') invalidValue(`${param}.role`, `'${role}'. Supported values are: 'user', 'assistant', 'system'.`);
  if (isAbsent(m.content)) missing(`${param}.content`);
  if (role === 'system') {
    // Claude Code sends its environment and per-turn instructions as system entries among the turns: they stay
    // where they are in the transcript, as system blocks
    const text = textOfBlocks(m.content, `${param}.content`, NOTHING);
    if (text !== '') messages.push({ role: 'system', content: text });
    return;
  }
  if (typeof m.content === 'string') {
    messages.push({ role, content: m.content });
    return;
  }
  if (!Array.isArray(m.content)) wrongType(`${param}.content`, 'a string or an array of content blocks', m.content);
  if (role === 'user') messages.push(...readUserTurn(m.content, `${param}.content`));
  else messages.push(readAssistantTurn(m.content, `${param}.content`));
}

/** Anthropic's web search server tool, by version: `web_search_20250305` and later. */
const WEB_SEARCH_TOOL = /^web_search_\d{8}$/;

/** The client tools, and the web search switch when one of the tools is the web search server tool. */
function readTools(value: unknown): { tools: ToolSpec[] | undefined; webSearch: WebSearchOptions | undefined } {
  let webSearch: WebSearchOptions | undefined;
  const tools = readToolList(value, (tool, k) => {
    const param = `tools.${k}`;
    const t = requireObject(tool, param);
    if (typeof t.type === 'string' && WEB_SEARCH_TOOL.test(t.type)) {
      webSearch = readWebSearchTool(t, param);
      return undefined;
    }
    if (!isAbsent(t.type) && t.type !== 'custom') unsupported(`${param}.type`, `${JSON.stringify(t.type)}. Only custom (client) tools and web_search are supported.`);
    const spec = readToolSpec(t, param, 'input_schema');
    if (spec.parameters === undefined) missing(`${param}.input_schema`);
    return spec;
  });
  return { tools, webSearch };
}

/**
 * `{type: "web_search_20250305", name: "web_search", max_uses?, user_location?}`. `max_uses` is checked, not
 * enforced (OnDemand's planner decides how often it searches); domain lists cannot be honoured, so they are refused.
 */
function readWebSearchTool(tool: Record<string, unknown>, param: string): WebSearchOptions {
  if (!isAbsent(tool.name) && tool.name !== 'web_search') invalidValue(`${param}.name`, `${JSON.stringify(tool.name)}. The web search tool is named 'web_search'.`);
  optionalPositiveInt(tool.max_uses, `${param}.max_uses`);
  for (const field of ['allowed_domains', 'blocked_domains'] as const) {
    if (!isAbsent(tool[field])) unsupported(`${param}.${field}`, "OnDemand's Internet Search takes no domain list.");
  }
  // the model may search: an offered tool, run as WEB_SEARCH_WHEN_OFFERED says (src/core/plugins.ts)
  const out: WebSearchOptions = { mode: 'offered' };
  const location = readUserLocation(tool.user_location, `${param}.user_location`);
  if (location !== undefined) out.userLocation = location;
  return out;
}

function readToolChoice(value: unknown, tools: ToolSpec[] | undefined): ToolChoice | undefined {
  if (isAbsent(value)) return undefined;
  const choice = requireObject(value, 'tool_choice');
  switch (choice.type) {
    case 'auto':
      return 'auto';
    case 'none':
      return 'none';
    case 'any':
      if (tools === undefined) invalidValue('tool_choice', "'any' needs at least one tool in 'tools'.");
      return 'required';
    case 'tool': {
      const name = requireString(choice.name, 'tool_choice.name');
      if (!tools?.some((t) => t.name === name)) invalidValue('tool_choice.name', `'${name}' is not one of the tools in 'tools'.`);
      return { name };
    }
    default:
      return invalidValue('tool_choice.type', `${JSON.stringify(choice.type ?? null)}. Supported values are: 'auto', 'any', 'tool', 'none'.`);
  }
}

function readSystem(value: unknown): string | undefined {
  if (isAbsent(value)) return undefined;
  return textOfBlocks(value, 'system', NOTHING);
}

function readThinking(value: unknown, params: GenerationParams): void {
  if (isAbsent(value)) return;
  const thinking = requireObject(value, 'thinking');
  if (thinking.type === 'disabled') return;
  if (thinking.type === 'adaptive') {
    params.reasoningEffort = 'medium';
    return;
  }
  if (thinking.type !== 'enabled') invalidValue('thinking.type', `${JSON.stringify(thinking.type ?? null)}. Supported values are: 'enabled', 'disabled', 'adaptive'.`);
  const budget = optionalPositiveInt(thinking.budget_tokens, 'thinking.budget_tokens') ?? 0;
  params.reasoningEffort = budget < 4096 ? 'low' : budget < 16384 ? 'medium' : 'max';
}

/** Anthropic's effort levels as OnDemand's three: the nearest one. */
const OUTPUT_EFFORTS: ReadonlyMap<string, ReasoningEffort> = new Map([
  ['low', 'low'],
  ['medium', 'medium'],
  ['high', 'max'],
  ['xhigh', 'max'],
  ['max', 'max'],
]);

/** `output_config.effort`; the rest of output_config (its `format`) is not read. */
function readOutputEffort(value: unknown, params: GenerationParams): void {
  if (isAbsent(value)) return;
  const config = requireObject(value, 'output_config');
  if (isAbsent(config.effort)) return;
  if (typeof config.effort !== 'string') wrongType('output_config.effort', 'a string', config.effort);
  const effort = OUTPUT_EFFORTS.get(config.effort);
  if (effort === undefined) invalidValue('output_config.effort', `${JSON.stringify(config.effort)}. Supported values are: ${quoteList([...OUTPUT_EFFORTS.keys()])}.`);
  params.reasoningEffort = effort;
}

export function parseMessagesRequest(body: unknown, options: MessagesRequestOptions = {}): GatewayRequest {
  if (!isObject(body)) throw bodyNotObject();
  const requestedModel = requireModel(body.model, options.defaultModel);
  const params: GenerationParams = {};
  const maxTokens = optionalPositiveInt(body.max_tokens, 'max_tokens');
  if (maxTokens === undefined && options.requireMaxTokens !== false) missing('max_tokens');
  if (maxTokens !== undefined) params.maxTokens = maxTokens;
  const messages = readMessages(body.messages, options.origins);
  const system = readSystem(body.system);
  if (system !== undefined && system !== '') {
    messages.unshift({ role: 'system', content: system });
    options.origins?.leading('system');
  }
  const temperature = optionalNumberIn(body.temperature, 'temperature', 0, 1);
  if (temperature !== undefined) params.temperature = temperature;
  const topP = optionalNumberIn(body.top_p, 'top_p', 0, 1);
  if (topP !== undefined) params.topP = topP;
  const stop = readStopList(body.stop_sequences, 'stop_sequences', 16);
  if (stop !== undefined) params.stop = stop;
  readThinking(body.thinking, params);
  readOutputEffort(body.output_config, params);
  const stream = optionalBoolean(body.stream, 'stream') ?? false;
  const { tools, webSearch } = readTools(body.tools);
  const toolChoice = readToolChoice(body.tool_choice, tools);
  const request: GatewayRequest = { api: 'messages', requestedModel, messages, params, stream, toolCallIdPrefix: 'toolu_' };
  if (tools !== undefined) request.tools = tools;
  if (toolChoice !== undefined) request.toolChoice = toolChoice;
  const plugins = pluginRequest(webSearch, readPluginIds(body.ondemand_plugins));
  if (plugins !== undefined) request.plugins = plugins;
  return request;
}
