/**
 * Non-streaming chat completions: GatewayEvents → one `chat.completion` object, in exactly the shape
 * openai-node, LangChain and the AI SDK read.
 */
import { randomToken } from '../../runtime/random-id.js';
import type { FinishReason, ToolCall, UrlCitation, Usage } from '../../core/types.js';

/** `chatcmpl-` + 24 url-safe random characters (18 random bytes). */
export function newCompletionId(): string {
  return `chatcmpl-${randomToken(18, 'base64url')}`;
}

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function toOpenAIUsage(usage: Usage): OpenAIUsage {
  return { prompt_tokens: usage.inputTokens, completion_tokens: usage.outputTokens, total_tokens: usage.totalTokens };
}

export interface OpenAIToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export function toOpenAIToolCall(call: ToolCall): OpenAIToolCall {
  return { id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } };
}

export interface ChatCompletionMessage {
  role: 'assistant';
  content: string | null;
  refusal: null;
  reasoning_content?: string;
  tool_calls?: OpenAIToolCall[];
  /** a web search answer's cited URLs (web_search_options) */
  annotations?: OpenAIUrlCitation[];
}

export interface OpenAIUrlCitation {
  type: 'url_citation';
  url_citation: { start_index: number; end_index: number; url: string; title: string };
}

export function toOpenAIUrlCitation(c: UrlCitation): OpenAIUrlCitation {
  return { type: 'url_citation', url_citation: { start_index: c.startIndex, end_index: c.endIndex, url: c.url, title: c.title } };
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: [{ index: 0; message: ChatCompletionMessage; logprobs: null; finish_reason: FinishReason }];
  usage: OpenAIUsage;
  system_fingerprint: null;
}

export interface ChatCompletionInput {
  id: string;
  /** unix seconds */
  created: number;
  /** the model name the client asked for */
  model: string;
  text: string;
  reasoning: string;
  toolCalls: readonly ToolCall[];
  finishReason: FinishReason;
  /** null renders as zeros: the shape requires usage, and the engine always sends it (estimated if need be) */
  usage: Usage | null;
  /** a web search request's citations; absent for any other request */
  citations?: readonly UrlCitation[] | undefined;
}

const NO_USAGE: OpenAIUsage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };

export function renderChatCompletion(input: ChatCompletionInput): ChatCompletion {
  const hasToolCalls = input.toolCalls.length > 0;
  const message: ChatCompletionMessage = {
    role: 'assistant',
    // OpenAI sends null content beside tool calls when the model said nothing else
    content: hasToolCalls && input.text === '' ? null : input.text,
    refusal: null,
  };
  if (input.reasoning !== '') message.reasoning_content = input.reasoning;
  if (hasToolCalls) message.tool_calls = input.toolCalls.map(toOpenAIToolCall);
  if (input.citations !== undefined) message.annotations = input.citations.map(toOpenAIUrlCitation);
  return {
    id: input.id,
    object: 'chat.completion',
    created: input.created,
    model: input.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: input.finishReason }],
    usage: input.usage === null ? { ...NO_USAGE } : toOpenAIUsage(input.usage),
    system_fingerprint: null,
  };
}
