/**
 * Anthropic Messages out: the `message` object, the stream encoder, and the error shape.
 *
 * Stream order, as the API sends it and `@anthropic-ai/sdk`'s MessageStream accumulates it:
 *   message_start (usage.input_tokens estimated locally, output_tokens 0),
 *   per content block: content_block_start, content_block_delta… (thinking_delta / text_delta /
 *   input_json_delta), content_block_stop,
 *   message_delta {stop_reason, stop_sequence} with the final usage (input and output tokens), message_stop.
 * Blocks come in the order of the answer: thinking (from reasoning), text, tool_use.
 * Errors: `{"type":"error","error":{"type","message"}}`, as the HTTP body or as an `event: error` frame.
 */
import { randomToken } from '../../runtime/random-id.js';
import type { GatewayError } from '../../core/errors.js';
import type { FinishReason, GatewayEvent, ToolCall, Usage } from '../../core/types.js';
import type { CollectedAnswer, StreamEncoder } from '../../http/completion-runner.js';
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

export function toAnthropicUsage(usage: Usage): Json {
  return { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
}

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
    usage: toAnthropicUsage(answer.usage),
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
  const ev = (type: string, fields: Json): string => sseEvent(type, JSON.stringify({ type, ...fields }));

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
        case 'end': {
          phase = 'finished';
          const final = usage === null ? { output_tokens: 0 } : toAnthropicUsage(usage);
          return close() + ev('message_delta', { delta: { stop_reason: toStopReason(event.finishReason), stop_sequence: null }, usage: final }) + ev('message_stop', {});
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
