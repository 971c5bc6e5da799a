/**
 * Anthropic Messages out: the `message` object, the stream encoder, and the error shape.
 *
 * Stream order, as the API sends it and `@anthropic-ai/sdk`'s MessageStream accumulates it:
 *   message_start (usage.input_tokens estimated locally, output_tokens 0),
 *   per content block: content_block_start, content_block_delta… (thinking_delta / text_delta /
 *   input_json_delta), content_block_stop,
 *   message_delta {stop_reason, stop_sequence} with the final usage (input and output tokens), message_stop.
 * Blocks come in the order of the answer: thinking (from reasoning), text, tool_use. A web search OnDemand ran is
 * a `server_tool_use` block (name web_search, input {query}) where it happened, and its `web_search_tool_result`
 * lists the sources the answer cites (OnDemand reports no other results; encrypted_content stays empty): in a
 * whole message right after the last search, in a stream at the end, the first moment they are known. The usage
 * then counts `server_tool_use.web_search_requests`.
 * Errors: `{"type":"error","error":{"type","message"}}`, as the HTTP body or as an `event: error` frame.
 */
import { randomToken } from '../../runtime/random-id.js';
import type { GatewayError } from '../../core/errors.js';
import type { FinishReason, PluginCall, ToolCall, UrlCitation, Usage } from '../../core/types.js';
import { AnswerLifecycle, type WholeAnswer } from '../answer-lifecycle.js';
import type { StreamEncoder } from '../spec.js';
import { sseEvent } from '../sse.js';

type Json = Record<string, unknown>;

export const newMessageId = (): string => `msg_${randomToken(12, 'hex')}`;

export type StopReason = 'end_turn' | 'max_tokens' | 'tool_use' | 'refusal';

export function toStopReason(finish: FinishReason): StopReason {
  switch (finish) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

export function toAnthropicUsage(usage: Usage, webSearches = 0): Json {
  const out: Json = { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  if (webSearches > 0) out.server_tool_use = { web_search_requests: webSearches };
  return out;
}

export const newServerToolUseId = (): string => `srvtoolu_${randomToken(12, 'hex')}`;

const serverToolUse = (id: string, call: PluginCall): Json => ({ type: 'server_tool_use', id, name: 'web_search', input: call.query === undefined ? {} : { query: call.query } });

/** The cited sources, once per URL, titled as the answer titles them. */
function searchResults(citations: readonly UrlCitation[] | undefined): Json[] {
  const seen = new Map<string, Json>();
  for (const c of citations ?? []) {
    if (!seen.has(c.url)) seen.set(c.url, { type: 'web_search_result', url: c.url, title: c.title, encrypted_content: '', page_age: null });
  }
  return [...seen.values()];
}

const searchResultBlock = (toolUseId: string, citations: readonly UrlCitation[] | undefined): Json => ({
  type: 'web_search_tool_result',
  tool_use_id: toolUseId,
  content: searchResults(citations),
});

function toolInput(call: ToolCall): unknown {
  try {
    return JSON.parse(call.arguments === '' ? '{}' : call.arguments) as unknown;
  } catch {
    return {};
  }
}

export interface MessageInit {
  id: string;
  model: string;
}

const thinkingBlock = (thinking: string): Json => ({ type: 'thinking', thinking, signature: '' });
const textBlock = (text: string): Json => ({ type: 'text', text });

/** The answer's parts as content blocks, in the order the stream writes them; each search's result right after it. */
export function renderMessage(init: MessageInit, answer: Pick<WholeAnswer, 'parts' | 'text' | 'toolCalls' | 'webSearches' | 'citations' | 'finishReason' | 'usage'>): Json {
  const content: Json[] = [];
  let searchesLeft = answer.webSearches.length;
  for (const part of answer.parts) {
    if (part.kind === 'web_search') {
      const id = newServerToolUseId();
      content.push(serverToolUse(id, part.call));
      // which search found which source OnDemand does not say: the cited sources go with the last search
      content.push(searchResultBlock(id, --searchesLeft === 0 ? answer.citations : []));
    } else if (part.kind === 'reasoning') content.push(thinkingBlock(part.text));
    else if (part.kind === 'text') content.push(textBlock(part.text));
    else content.push({ type: 'tool_use', id: part.call.id, name: part.call.name, input: toolInput(part.call) });
  }
  // a message without text or tool calls still has its (empty) text block
  if (answer.text === '' && answer.toolCalls.length === 0) content.push(textBlock(''));
  return {
    id: init.id,
    type: 'message',
    role: 'assistant',
    model: init.model,
    content,
    stop_reason: toStopReason(answer.finishReason),
    stop_sequence: null,
    usage: toAnthropicUsage(answer.usage, answer.webSearches.length),
  };
}

/** Anthropic's error `type` for a gateway error, by status. */
export function anthropicErrorType(err: GatewayError): string {
  switch (err.status) {
    case 400:
    case 415:
    case 422:
    case 499:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 503:
    case 529:
      return 'overloaded_error';
    case 504:
      return 'timeout_error';
    default:
      return err.status < 500 ? 'invalid_request_error' : 'api_error';
  }
}

export function renderAnthropicError(err: GatewayError): Json {
  return { type: 'error', error: { type: anthropicErrorType(err), message: err.message } };
}

export function createMessagesEncoder(init: MessageInit & { inputTokens: number }): StreamEncoder {
  let index = -1;
  /** the last web search's server_tool_use id: its result waits for the next search or the end */
  let lastSearch: string | undefined;
  const ev = (type: string, fields: Json): string => sseEvent(type, JSON.stringify({ type, ...fields }));
  /** a block written whole: start, then stop */
  const wholeBlock = (block: Json, delta?: Json): string => {
    index++;
    return (
      ev('content_block_start', { index, content_block: block }) + (delta === undefined ? '' : ev('content_block_delta', { index, delta })) + ev('content_block_stop', { index })
    );
  };

  return new AnswerLifecycle(
    {
      start() {
        const message = {
          id: init.id,
          type: 'message',
          role: 'assistant',
          model: init.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: init.inputTokens, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
        };
        return ev('message_start', { message });
      },
      open(part) {
        index++;
        return ev('content_block_start', { index, content_block: part === 'reasoning' ? thinkingBlock('') : textBlock('') });
      },
      reasoning: (thinking) => ev('content_block_delta', { index, delta: { type: 'thinking_delta', thinking } }),
      text: (text) => ev('content_block_delta', { index, delta: { type: 'text_delta', text } }),
      // a search block was written whole; its result waits
      close: (part) => (part === 'web_search' ? '' : ev('content_block_stop', { index })),
      toolCalls(calls) {
        let out = '';
        for (const call of calls) {
          out += wholeBlock({ type: 'tool_use', id: call.id, name: call.name, input: {} }, { type: 'input_json_delta', partial_json: call.arguments });
        }
        return out;
      },
      webSearch(call) {
        // an earlier search's result goes out now: the cited sources go with the last one
        const before = lastSearch === undefined ? '' : wholeBlock(searchResultBlock(lastSearch, []));
        const id = newServerToolUseId();
        lastSearch = id;
        const input = call.query === undefined ? {} : { query: call.query };
        return before + wholeBlock({ ...serverToolUse(id, call), input: {} }, { type: 'input_json_delta', partial_json: JSON.stringify(input) });
      },
      finish(reason, { usage, citations, webSearches }) {
        const results = lastSearch === undefined ? '' : wholeBlock(searchResultBlock(lastSearch, citations));
        const final =
          usage === null ? { output_tokens: 0, ...(webSearches > 0 ? { server_tool_use: { web_search_requests: webSearches } } : {}) } : toAnthropicUsage(usage, webSearches);
        return results + ev('message_delta', { delta: { stop_reason: toStopReason(reason), stop_sequence: null }, usage: final }) + ev('message_stop', {});
      },
      fail: (err) => sseEvent('error', JSON.stringify(renderAnthropicError(err))),
    },
    'messages encoder',
  );
}
