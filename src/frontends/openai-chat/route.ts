/** POST /v1/chat/completions: the OpenAI chat front end as a spec. */
import type { ParseOptions } from '../validate.js';
import { defineFrontEnd, type RegisteredFrontEnd } from '../spec.js';
import { parseChatRequest } from './request.js';
import { newCompletionId, renderChatCompletion } from './response.js';
import { createChatChunkEncoder } from './stream.js';

export function chatFrontEnd(parse: ParseOptions = {}): RegisteredFrontEnd {
  return defineFrontEnd({
    name: 'OpenAI chat completions',
    paths: ['/v1/chat/completions', '/chat/completions'],
    parse: (body, origins) => parseChatRequest(body, { ...parse, acceptMedia: true, origins }),
    turn: ({ request, includeUsage }) => {
      const id = newCompletionId();
      const created = Math.floor(Date.now() / 1000);
      const model = request.requestedModel;
      return {
        request,
        answer: {
          streamEncoder: () => createChatChunkEncoder({ id, created, model, includeUsage }),
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
        },
      };
    },
  });
}
