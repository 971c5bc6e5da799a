/** POST /v1/completions: the legacy completions front end as a spec. */
import { type ParseOptions, withOrigins } from '../validate.js';
import { defineFrontEnd, type FrontEnd, type RegisteredFrontEnd } from '../spec.js';
import { parseCompletionsRequest } from './request.js';
import { createTextCompletionEncoder, newTextCompletionId, renderTextCompletion, type TextCompletionInit } from './render.js';

/** One text completion, streamed or whole. */
export function textCompletionAnswer(init: TextCompletionInit, includeUsage: boolean): FrontEnd {
  return {
    streamEncoder: () => createTextCompletionEncoder({ ...init, includeUsage }),
    render: (answer) => renderTextCompletion(init, answer),
  };
}

export function completionsFrontEnd(parse: ParseOptions = {}): RegisteredFrontEnd {
  return defineFrontEnd({
    name: 'OpenAI legacy completions',
    paths: ['/v1/completions', '/completions'],
    parse: (body, origins) => parseCompletionsRequest(body, withOrigins(parse, origins)),
    turn: (parsed) => {
      const init = {
        id: newTextCompletionId(),
        created: Math.floor(Date.now() / 1000),
        model: parsed.request.requestedModel,
        ...(parsed.echo ? { echoPrompt: parsed.prompt } : {}),
      };
      return { request: parsed.request, answer: textCompletionAnswer(init, parsed.includeUsage) };
    },
  });
}
