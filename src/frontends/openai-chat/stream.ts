/**
 * How a stream is translated, client half: GatewayEvents → `chat.completion.chunk` SSE frames.
 *
 * The order every client accepts, with one id for the whole stream:
 *   1. a role chunk, `delta: {role:'assistant', content:'', refusal:null}`, as OpenAI sends it, before the first
 *      delta (openai-node's `.stream()` helper throws "missing role" without it);
 *   2. content / reasoning_content / tool_calls deltas (a plugin call only brings the role chunk forward: chat
 *      has no event for it), and for a web search, one `annotations` delta with the cited URLs;
 *   3. exactly one finish chunk, `delta: {}` with the finish_reason; nothing after it but
 *   4. with include_usage, one chunk with `choices: []` and the usage (earlier chunks carry `usage: null`);
 *   5. `data: [DONE]` exactly once.
 * An error after the stream started is one `data: {"error":{...}}` frame and then the end, without [DONE]:
 * openai-node throws an APIError on that frame and the AI SDK emits an error part, so the user learns the
 * answer is cut short; [DONE] after it would only claim a clean end that did not happen.
 *
 * The benchmark streams thousands of chunks a second, so the JSON around each delta is built once (per stream for
 * its head, once for all streams for the rest) and only the delta is serialised per event.
 */
import type { FinishReason, GatewayEvent, ToolCall, UrlCitation } from '../../core/types.js';
import type { GatewayError } from '../../core/errors.js';
import { flatText } from '../../runtime/text-pieces.js';
import { AnswerLifecycle, type AnswerState, type AnswerWriter } from '../answer-lifecycle.js';
import { SSE_DONE, sseData } from '../sse.js';
import { toOpenAIToolCall, toOpenAIUrlCitation, toOpenAIUsage } from './response.js';

export interface ChatChunkEncoderInit {
  id: string;
  /** unix seconds, the same on every chunk */
  created: number;
  /** the model name the client asked for */
  model: string;
  /** the client sent stream_options.include_usage: true */
  includeUsage: boolean;
}

export interface ChatChunkEncoder {
  /** The SSE frames for one event; '' when it adds nothing (empty text, usage held for later, after the end). */
  encode(event: GatewayEvent): string;
  /** An error after the stream started: the error frame, after which the stream must end. '' once ended. */
  error(err: GatewayError): string;
  /**
   * The usage chunk (when asked for and known) and [DONE]; '' on later calls or after error().
   * Throws if no `end` event came: a stream without a finish_reason must end with error(), not look complete.
   */
  done(): string;
}

/** The JSON around a chunk's delta that is the same in every stream, with and without include_usage */
const DELTA_OPEN = '[{"index":0,"delta":';
const CONTENT_OPEN = flatText(DELTA_OPEN, '{"content":');
const REASONING_OPEN = flatText(DELTA_OPEN, '{"reasoning_content":');
const END = ['}\n\n', ',"usage":null}\n\n'] as const;
const DELTA_CLOSE = END.map((end) => flatText(',"logprobs":null,"finish_reason":null}]', end));
const FIELD_CLOSE = DELTA_CLOSE.map((close) => flatText('}', close));
const ROLE_DELTA = '{"role":"assistant","content":"","refusal":null}';

export function createChatChunkEncoder(init: ChatChunkEncoderInit): ChatChunkEncoder {
  return new AnswerLifecycle(new ChatChunkWriter(init), 'chat chunk encoder');
}

/**
 * One stream's chunks. Only the head (id, created, model) is the stream's own, built once as one flat string; the
 * rest is shared by every stream (a stream keeps ~150 bytes of it, not a prebuilt copy of each kind of chunk).
 */
class ChatChunkWriter implements AnswerWriter {
  private readonly head: string;
  private readonly usageIndex: 0 | 1;

  constructor(private readonly init: ChatChunkEncoderInit) {
    this.head = flatText(
      'data: {"id":',
      JSON.stringify(init.id),
      ',"object":"chat.completion.chunk","created":',
      JSON.stringify(init.created),
      ',"model":',
      JSON.stringify(init.model),
      ',"system_fingerprint":null,"choices":',
    );
    this.usageIndex = init.includeUsage ? 1 : 0;
  }

  begin(): string {
    return this.head + DELTA_OPEN + ROLE_DELTA + DELTA_CLOSE[this.usageIndex];
  }

  text(text: string): string {
    return this.head + CONTENT_OPEN + JSON.stringify(text) + FIELD_CLOSE[this.usageIndex];
  }

  reasoning(text: string): string {
    return this.head + REASONING_OPEN + JSON.stringify(text) + FIELD_CLOSE[this.usageIndex];
  }

  toolCalls(calls: readonly ToolCall[], first: number): string {
    const delta = JSON.stringify({ tool_calls: calls.map((call, i) => ({ index: first + i, ...toOpenAIToolCall(call) })) });
    return this.head + DELTA_OPEN + delta + DELTA_CLOSE[this.usageIndex];
  }

  citations(citations: readonly UrlCitation[]): string {
    if (citations.length === 0) return '';
    return this.head + DELTA_OPEN + JSON.stringify({ annotations: citations.map(toOpenAIUrlCitation) }) + DELTA_CLOSE[this.usageIndex];
  }

  finish(reason: FinishReason): string {
    return `${this.head}${DELTA_OPEN}{},"logprobs":null,"finish_reason":${JSON.stringify(reason)}}]${END[this.usageIndex]}`;
  }

  done({ usage }: AnswerState): string {
    return (this.init.includeUsage && usage !== null ? `${this.head}[],"usage":${JSON.stringify(toOpenAIUsage(usage))}}\n\n` : '') + SSE_DONE;
  }

  fail(err: GatewayError): string {
    return sseData(JSON.stringify(err.toOpenAI()));
  }
}
