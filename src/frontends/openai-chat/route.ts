/** POST /v1/chat/completions: the OpenAI chat front end as a spec. */
import type { ParseOptions } from '../validate.js';
import { defineFrontEnd, type FrontEnd, type RegisteredFrontEnd } from '../spec.js';
import { parseChatRequest } from './request.js';
import { newCompletionId, renderChatCompletion } from './response.js';
import { type ChatChunkEncoderInit, createChatChunkEncoder } from './stream.js';

/** One chat answer, streamed or whole. */
export function chatAnswer(init: ChatChunkEncoderInit): FrontEnd {
  const { id, created, model } = init;
  return {
    streamEncoder: () => createChatChunkEncoder(init),
    render: (a) =>
      renderChatCompletion({
        id,
        created,
        model,
        text: a.text,
        reasoning: a.reasoning,
        toolCalls: a.toolCalls,
        finishReason: a.finishReason,
        usage: a.usage,
        citations: a.citations,
      }),
  };
}

export function chatFrontEnd(parse: ParseOptions = {}): RegisteredFrontEnd {
  return defineFrontEnd({
    name: 'OpenAI chat completions',
    paths: ['/v1/chat/completions', '/chat/completions'],
    parse: (body, origins) => parseChatRequest(body, { defaultModel: parse.defaultModel, acceptMedia: true, origins }),
    turn: ({ request, includeUsage }) => ({
      request,
      answer: chatAnswer({ id: newCompletionId(), created: Math.floor(Date.now() / 1000), model: request.requestedModel, includeUsage }),
    }),
  });
}
