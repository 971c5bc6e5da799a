/**
 * The Gemini API front end: POST /v1beta/models/{model}:generateContent, :streamGenerateContent (`alt=sse`: SSE;
 * without it: a JSON array, written whole when the answer is done) and :countTokens (also under /v1/), and GET
 * /v1beta/models[/{model}]. `{model}:{action}` is one path segment, so the routes are wildcards and the action is
 * read from the segment. Every error on these paths, an unknown one included, is in Gemini's shape; the key
 * goes in `x-goog-api-key` (a `?key=` is moved there before anything reads the URL: src/http/auth.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Engine } from '../../core/engine.js';
import { upstreamQuery } from '../../core/answer.js';
import { GatewayError } from '../../core/errors.js';
import { countTokens } from '../../core/tokens.js';
import type { FrontEnd, RunnerOptions } from '../../http/completion-runner.js';
import { runCompletion } from '../../http/completion-runner.js';
import { redactPath } from '../../http/redact.js';
import { isObject, type Json, type ParseOptions } from '../validate.js';
import { getGeminiModel, listGeminiModels, type ModelListing } from './models.js';
import { parseCountTokens, parseGenerateContent } from './request.js';
import { createGeminiEncoder, newResponseId, renderGeminiError, renderGenerateContent } from './render.js';

type Action = 'generateContent' | 'streamGenerateContent' | 'countTokens';
const ACTIONS: readonly string[] = ['generateContent', 'streamGenerateContent', 'countTokens'];

function notFound(what: string): GatewayError {
  return new GatewayError(`${what} was not found: the Gemini API here serves POST models/{model}:generateContent, :streamGenerateContent, :countTokens and GET models.`, {
    status: 404,
    type: 'not_found_error',
    code: 'unknown_url',
  });
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

/** The text of each turn, for MAX_MESSAGES and MAX_MESSAGE_CHARS (src/http/server-limits.ts). */
function limitsView(request: FastifyRequest): unknown {
  const body = request.body;
  if (!isObject(body) || !Array.isArray(body.contents)) return body;
  const messages = body.contents.map((c: unknown) =>
    isObject(c) && Array.isArray(c.parts)
      ? { content: c.parts.map((p: unknown) => (isObject(p) ? (typeof p.text === 'string' ? p.text : JSON.stringify(p.functionResponse ?? p.functionCall ?? '')) : '')) }
      : c,
  );
  const segment = (request.params as { '*'?: string })['*'] ?? '';
  return { messages, stream: segment.endsWith(':streamGenerateContent') };
}

const MISSING_KEY = 'You did not provide an API key. Send it as `x-goog-api-key: <key>` (or `Authorization: Bearer <key>`).';

export function geminiRoutes(engine: Engine, opts: RunnerOptions, parse: ParseOptions, models: ModelListing) {
  return (app: FastifyInstance): void => {
    const config = { renderError: renderGeminiError, missingKeyMessage: MISSING_KEY, limitsView };
    // a blank line keeps the stream alive: @google/genai reads only `data:` frames and stalls on a comment
    const runner: RunnerOptions = { ...opts, ping: '\n' };

    const generate = async (request: FastifyRequest, reply: FastifyReply, model: string, stream: boolean): Promise<void> => {
      const sse = stream && (request.query as Json).alt === 'sse';
      const { request: gwRequest, includeThoughts } = parseGenerateContent(request.body, { model, stream: sse }, parse);
      const responseId = newResponseId();
      const frontEnd: FrontEnd = {
        streamEncoder: (handle) => createGeminiEncoder({ responseId, modelVersion: handle.model, includeThoughts }),
        render: (answer, handle) => {
          const body = renderGenerateContent({ responseId, modelVersion: handle.model, includeThoughts }, answer);
          return stream ? [body] : body;
        },
      };
      await runCompletion(engine, gwRequest, frontEnd, request, reply, runner);
    };

    const post = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
      const { model, action } = readModelAction((request.params as { '*': string })['*']);
      if (action === 'countTokens') return { totalTokens: countTokens(upstreamQuery(parseCountTokens(request.body, model), '').query) };
      await generate(request, reply, model, action === 'streamGenerateContent');
      return reply;
    };
    const getModel = async (request: FastifyRequest): Promise<Json> => {
      const segment = (request.params as { '*': string })['*'];
      if (segment.includes(':') || segment === '') throw notFound('GET of a model method');
      return getGeminiModel(models, segment);
    };
    const unknown = async (request: FastifyRequest): Promise<never> => {
      throw notFound(`${request.method} ${redactPath(request.url.split('?')[0] ?? '')}`);
    };

    for (const version of ['/v1beta', '/v1']) app.post(`${version}/models/*`, { config }, post);
    app.get('/v1beta/models', { config }, async () => listGeminiModels(models));
    app.get('/v1beta/models/*', { config }, getModel);
    app.all('/v1beta/*', { config }, unknown);
  };
}
