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
import type { FinishReason, GatewayEvent, PluginCall, ToolCall, UrlCitation, Usage } from '../../core/types.js';
import type { CollectedAnswer, StreamEncoder } from '../spec.js';
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

export function renderMessage(init: MessageInit, answer: CollectedAnswer): Json {
  const content: Json[] = [];
  const searches = (answer.pluginCalls ?? []).filter((call) => call.webSearch);
  searches.forEach((call, i) => {
    const id = newServerToolUseId();
    content.push(serverToolUse(id, call));
    // which search found which source OnDemand does not say: the cited sources go with the last search
    content.push(searchResultBlock(id, i === searches.length - 1 ? answer.citations : []));
  });
  if (answer.reasoning !== '') content.push({ type: 'thinking', thinking: answer.reasoning, signature: '' });
  if (answer.text !== '' || answer.toolCalls.length === 0) content.push({ type: 'text', text: answer.text });
  for (const call of answer.toolCalls) content.push({ type: 'tool_use', id: call.id, name: call.name, input: toolInput(call) });
  return {
    id: init.id,
    type: 'message',
    role: 'assistant',
    model: init.model,
    content,
    stop_reason: toStopReason(answer.finishReason),
    stop_sequence: null,
    usage: toAnthropicUsage(answer.usage, searches.length),
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
  let open: 'thinking' | 'text' | null = null;
  let usage: Usage | null = null;
  let phase: 'open' | 'finished' | 'closed' = 'open';
  /** the last web search's server_tool_use id, and how many ran */
  let lastSearch: string | undefined;
  let searches = 0;
  let citations: readonly UrlCitation[] | undefined;
  const ev = (type: string, fields: Json): string => sseEvent(type, JSON.stringify({ type, ...fields }));
  /** a block written whole: start, then stop */
  const wholeBlock = (block: Json, delta?: Json): string => {
    index++;
    return (
      ev('content_block_start', { index, content_block: block }) + (delta === undefined ? '' : ev('content_block_delta', { index, delta })) + ev('content_block_stop', { index })
    );
  };

  const close = (): string => {
    if (open === null) return '';
    open = null;
    return ev('content_block_stop', { index });
  };
  const openBlock = (kind: 'thinking' | 'text'): string => {
    if (open === kind) return '';
    const before = close();
    index++;
    open = kind;
    const block = kind === 'thinking' ? { type: 'thinking', thinking: '', signature: '' } : { type: 'text', text: '' };
    return before + ev('content_block_start', { index, content_block: block });
  };

  return {
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
    encode(event: GatewayEvent): string {
      if (event.type === 'usage') {
        usage = event.usage;
        return '';
      }
      if (phase !== 'open') return '';
      switch (event.type) {
        case 'reasoning':
          if (event.text === '') return '';
          return openBlock('thinking') + ev('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: event.text } });
        case 'text':
          if (event.text === '') return '';
          return openBlock('text') + ev('content_block_delta', { index, delta: { type: 'text_delta', text: event.text } });
        case 'tool_calls': {
          let out = close();
          for (const call of event.calls) {
            index++;
            out +=
              ev('content_block_start', { index, content_block: { type: 'tool_use', id: call.id, name: call.name, input: {} } }) +
              ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: call.arguments } }) +
              ev('content_block_stop', { index });
          }
          return out;
        }
        case 'plugin_call': {
          if (!event.call.webSearch) return '';
          // an earlier search's result goes out now: the cited sources go with the last one
          const before = close() + (lastSearch === undefined ? '' : wholeBlock(searchResultBlock(lastSearch, [])));
          const id = newServerToolUseId();
          lastSearch = id;
          searches++;
          const input = event.call.query === undefined ? {} : { query: event.call.query };
          return before + wholeBlock({ ...serverToolUse(id, event.call), input: {} }, { type: 'input_json_delta', partial_json: JSON.stringify(input) });
        }
        case 'citations':
          citations = event.citations;
          return '';
        case 'end': {
          phase = 'finished';
          const results = lastSearch === undefined ? '' : close() + wholeBlock(searchResultBlock(lastSearch, citations));
          const final = usage === null ? { output_tokens: 0, ...(searches > 0 ? { server_tool_use: { web_search_requests: searches } } : {}) } : toAnthropicUsage(usage, searches);
          return results + close() + ev('message_delta', { delta: { stop_reason: toStopReason(event.finishReason), stop_sequence: null }, usage: final }) + ev('message_stop', {});
        }
      }
    },
    error(err: GatewayError): string {
      if (phase === 'closed') return '';
      phase = 'closed';
      return sseEvent('error', JSON.stringify(renderAnthropicError(err)));
    },
    done(): string {
      if (phase === 'closed') return '';
      if (phase !== 'finished') throw new Error('messages encoder: done() before the end event; end a failed stream with error()');
      phase = 'closed';
      return '';
    },
  };
}
