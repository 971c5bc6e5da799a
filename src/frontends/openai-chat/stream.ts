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
 * The benchmark streams thousands of chunks a second, so the constant JSON around each delta is built once per
 * stream and only the delta is serialised per event.
 */
import type { GatewayEvent } from '../../core/types.js';
import type { GatewayError } from '../../core/errors.js';
import { flatText } from '../../runtime/text-pieces.js';
import { AnswerLifecycle } from '../answer-lifecycle.js';
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

export function createChatChunkEncoder(init: ChatChunkEncoderInit): ChatChunkEncoder {
  const head = flatText(
    'data: {"id":',
    JSON.stringify(init.id),
    ',"object":"chat.completion.chunk","created":',
    JSON.stringify(init.created),
    ',"model":',
    JSON.stringify(init.model),
    ',"system_fingerprint":null,"choices":',
  );
  const end = init.includeUsage ? ',"usage":null}\n\n' : '}\n\n';
  const deltaOpen = flatText(head, '[{"index":0,"delta":');
  const deltaClose = flatText(',"logprobs":null,"finish_reason":null}]', end);
  const contentOpen = flatText(deltaOpen, '{"content":');
  const reasoningOpen = flatText(deltaOpen, '{"reasoning_content":');
  const fieldClose = flatText('}', deltaClose);
  const roleChunk = flatText(deltaOpen, '{"role":"assistant","content":"","refusal":null}', deltaClose);

  return new AnswerLifecycle(
    {
      begin: () => roleChunk,
      text: (text) => contentOpen + JSON.stringify(text) + fieldClose,
      reasoning: (text) => reasoningOpen + JSON.stringify(text) + fieldClose,
      toolCalls: (calls, first) => deltaOpen + JSON.stringify({ tool_calls: calls.map((call, i) => ({ index: first + i, ...toOpenAIToolCall(call) })) }) + deltaClose,
      citations: (citations) => (citations.length === 0 ? '' : deltaOpen + JSON.stringify({ annotations: citations.map(toOpenAIUrlCitation) }) + deltaClose),
      finish: (reason) => `${deltaOpen}{},"logprobs":null,"finish_reason":${JSON.stringify(reason)}}]${end}`,
      done: ({ usage }) => (init.includeUsage && usage !== null ? `${head}[],"usage":${JSON.stringify(toOpenAIUsage(usage))}}\n\n` : '') + SSE_DONE,
      fail: (err) => sseData(JSON.stringify(err.toOpenAI())),
    },
    'chat chunk encoder',
  );
}
