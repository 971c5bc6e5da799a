/**
 * The Gemini API front end as a spec: POST /v1beta/models/{model}:generateContent, :streamGenerateContent (`alt=sse`:
 * SSE; without it: a JSON array, written whole when the answer is done) and :countTokens (also under /v1/), and GET
 * /v1beta/models[/{model}]. `{model}:{action}` is one path segment, so the routes are wildcards and the action is
 * read from the segment. Every error on these paths, an unknown one included, is in Gemini's shape; the key
 * goes in `x-goog-api-key` (a `?key=` is moved there before anything reads the URL: src/http/auth.ts).
 */
import type { FastifyInstance, FastifyContextConfig, FastifyRequest } from 'fastify';
import { upstreamQuery } from '../../core/answer.js';
import { type GatewayError, gatewayError } from '../../core/errors.js';
import { countTokens } from '../../core/tokens.js';
import type { GatewayRequest } from '../../core/types.js';
import { redactPath } from '../../http/redact.js';
import { defineFrontEnd, type FrontEnd, type RegisteredFrontEnd } from '../spec.js';
import { type Json, type ParseOptions, withOrigins } from '../validate.js';
import { getGeminiModel, listGeminiModels, type ModelListing } from './models.js';
import { parseCountTokens, parseGenerateContent } from './request.js';
import { createGeminiEncoder, type GeminiAnswerInit, newResponseId, renderGeminiError, renderGenerateContent } from './render.js';

type Action = 'generateContent' | 'streamGenerateContent' | 'countTokens';
const ACTIONS: readonly string[] = ['generateContent', 'streamGenerateContent', 'countTokens'];

function notFound(what: string): GatewayError {
  return gatewayError('unknown_url', `${what} was not found: the Gemini API here serves POST models/{model}:generateContent, :streamGenerateContent, :countTokens and GET models.`);
}

/** `gemini-2.5-flash:generateContent` → model and action; a 404 for anything else. */
export function readModelAction(segment: string): { model: string; action: Action } {
  const colon = segment.lastIndexOf(':');
  const model = segment.slice(0, colon);
  const action = segment.slice(colon + 1);
  // the model name stays out of the message: a path segment may be a key pasted by mistake
  if (colon <= 0 || !ACTIONS.includes(action)) throw notFound(colon <= 0 ? 'A model path without an action' : `The method '${redactPath(action.slice(0, 40))}'`);
  return { model, action: action as Action };
}

const segmentOf = (request: FastifyRequest): string => (request.params as { '*'?: string })['*'] ?? '';

interface ParsedGemini {
  request: GatewayRequest;
  action: Action;
  /** thinkingConfig.includeThoughts: thought parts go back to the client */
  includeThoughts: boolean;
}

const MISSING_KEY = 'You did not provide an API key. Send it as `x-goog-api-key: <key>` (or `Authorization: Bearer <key>`).';

/**
 * One answer, streamed or whole, by the model that answered; `inArray`: a streamGenerateContent without `alt=sse`,
 * answered as a JSON array of the one response.
 */
export function geminiAnswer(init: Omit<GeminiAnswerInit, 'modelVersion'>, inArray: boolean): FrontEnd {
  return {
    streamEncoder: (handle) => createGeminiEncoder({ ...init, modelVersion: handle.model }),
    render: (answer, handle) => {
      const body = renderGenerateContent({ ...init, modelVersion: handle.model }, answer);
      return inArray ? [body] : body;
    },
  };
}

export function geminiFrontEnd(parse: ParseOptions, models: ModelListing): RegisteredFrontEnd {
  return defineFrontEnd<ParsedGemini>({
    name: 'Gemini',
    paths: ['/v1beta/models/*', '/v1/models/*'],
    renderError: renderGeminiError,
    missingKeyMessage: MISSING_KEY,
    // the stream is asked for in the path; a JSON array answer holds its request open as long
    opensStream: (request) => segmentOf(request).endsWith(':streamGenerateContent'),
    parse: (body, origins, request) => {
      const { model, action } = readModelAction(segmentOf(request));
      if (action === 'countTokens') return { request: parseCountTokens(body, model, origins), action, includeThoughts: false };
      const sse = action === 'streamGenerateContent' && (request.query as Json).alt === 'sse';
      return { ...parseGenerateContent(body, { model, stream: sse }, withOrigins(parse, origins)), action };
    },
    turn: ({ request, action, includeThoughts }) => {
      // counted locally on the query the request becomes, as Anthropic's count_tokens is
      if (action === 'countTokens') return { local: { totalTokens: countTokens(upstreamQuery(request, '').query) } };
      return { request, answer: geminiAnswer({ responseId: newResponseId(), includeThoughts }, action === 'streamGenerateContent') };
    },
    extraRoutes: (app: FastifyInstance, _limits, config: FastifyContextConfig) => {
      const getModel = async (request: FastifyRequest): Promise<Json> => {
        const segment = segmentOf(request);
        if (segment.includes(':') || segment === '') throw notFound('GET of a model method');
        return getGeminiModel(models, segment);
      };
      const unknown = async (request: FastifyRequest): Promise<never> => {
        throw notFound(`${request.method} ${redactPath(request.url.split('?')[0] ?? '')}`);
      };
      app.get('/v1beta/models', { config }, async () => listGeminiModels(models));
      app.get('/v1beta/models/*', { config }, getModel);
      app.all('/v1beta/*', { config }, unknown);
    },
  });
}
