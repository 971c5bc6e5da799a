/** POST /v1/responses: the OpenAI Responses front end wired to the engine. Errors keep the OpenAI shape. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Engine } from '../../core/engine.js';
import type { FrontEnd, RunnerOptions } from '../../http/completion-runner.js';
import { runCompletion } from '../../http/completion-runner.js';
import { parseResponsesRequest, type ResponsesParseOptions } from './request.js';
import { createResponsesEncoder, newResponseId, renderResponse, type ResponseInit } from './render.js';

/** `parse.reasoningSeal` reads the reasoning items clients send back and seals the ones they ask for. */
export function responsesRoutes(engine: Engine, opts: RunnerOptions, parse: ResponsesParseOptions = {}) {
  return (app: FastifyInstance): void => {
    const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      const parsed = parseResponsesRequest(request.body, parse);
      const init: ResponseInit = {
        id: newResponseId(),
        createdAt: Math.floor(Date.now() / 1000),
        model: parsed.request.requestedModel,
        echo: parsed.echo,
        seal: parsed.echo.encryptedReasoning ? parse.reasoningSeal : undefined,
      };
      const frontEnd: FrontEnd = {
        streamEncoder: () => createResponsesEncoder(init),
        render: (answer) => renderResponse(init, answer),
      };
      await runCompletion(engine, parsed.request, frontEnd, request, reply, opts);
    };
    app.post('/v1/responses', handler);
    app.post('/responses', handler);
  };
}
