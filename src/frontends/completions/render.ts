/**
 * Legacy completions out: one `text_completion` object, or its stream: `text_completion` chunks with
 * `choices[0].text`, one chunk with the finish_reason, then (with stream_options.include_usage) a chunk with
 * `choices: []` and the usage, then `data: [DONE]`. Reasoning is not part of this API and is left out; an
 * error after the stream started is one `data: {"error":{...}}` frame and no [DONE], as for chat.
 */
import { randomToken } from '../../runtime/random-id.js';
import type { FinishReason } from '../../core/types.js';
import { AnswerLifecycle, type WholeAnswer } from '../answer-lifecycle.js';
import type { StreamEncoder } from '../spec.js';
import { toOpenAIUsage, type OpenAIUsage } from '../openai-chat/response.js';
import { SSE_DONE, sseData } from '../sse.js';

export function newTextCompletionId(): string {
  return `cmpl-${randomToken(18, 'base64url')}`;
}

export interface TextCompletionInit {
  id: string;
  created: number;
  model: string;
  /** the prompt, put in front of the text when the client asked for echo */
  echoPrompt?: string;
}

export interface TextCompletion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: [{ text: string; index: 0; logprobs: null; finish_reason: FinishReason }];
  usage: OpenAIUsage;
  system_fingerprint: null;
}

export function renderTextCompletion(init: TextCompletionInit, answer: WholeAnswer): TextCompletion {
  return {
    id: init.id,
    object: 'text_completion',
    created: init.created,
    model: init.model,
    choices: [{ text: (init.echoPrompt ?? '') + answer.text, index: 0, logprobs: null, finish_reason: answer.finishReason }],
    usage: toOpenAIUsage(answer.usage),
    system_fingerprint: null,
  };
}

export function createTextCompletionEncoder(init: TextCompletionInit & { includeUsage: boolean }): StreamEncoder {
  const chunk = (choices: unknown[], usage?: OpenAIUsage): string => {
    const body: Record<string, unknown> = { id: init.id, object: 'text_completion', created: init.created, model: init.model, choices, system_fingerprint: null };
    if (init.includeUsage) body.usage = usage ?? null;
    return sseData(JSON.stringify(body));
  };
  const choice = (text: string, finish: FinishReason | null) => ({ text, index: 0, logprobs: null, finish_reason: finish });
  // the echoed prompt goes in front of the first text, or of the finish when there is none; reasoning and tool
  // calls are not part of this API
  let echoed = init.echoPrompt === undefined || init.echoPrompt === '';
  const echo = (): string => {
    if (echoed) return '';
    echoed = true;
    return chunk([choice(init.echoPrompt ?? '', null)]);
  };
  return new AnswerLifecycle(
    {
      text: (text) => echo() + chunk([choice(text, null)]),
      reasoning: () => '',
      toolCalls: () => '',
      finish: (reason) => echo() + chunk([choice('', reason)]),
      done: ({ usage }) => (init.includeUsage && usage !== null ? chunk([], toOpenAIUsage(usage)) : '') + SSE_DONE,
      fail: (err) => sseData(JSON.stringify(err.toOpenAI())),
    },
    'text completion encoder',
  );
}
