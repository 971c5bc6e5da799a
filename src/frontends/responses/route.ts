/** POST /v1/responses: the OpenAI Responses front end wired to the engine. Errors keep the OpenAI shape. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Engine } from '../../core/engine.js';
import { checkRequestLimits, MessageOrigins } from '../../core/limits.js';
import type { RunnerOptions } from '../runner.js';
import { runCompletion } from '../runner.js';
import { parseResponsesRequest, type ResponsesParseOptions } from './request.js';
import { newResponseId, type ResponseInit } from './render.js';
import { ownerOf } from './stored-items.js';
import type { StoredStateStep } from './stored-state.js';

/** `parse.reasoningSeal` reads the reasoning items clients send back and seals the ones they ask for. */
export function responsesRoutes(engine: Engine, opts: RunnerOptions, parse: ResponsesParseOptions, stored: StoredStateStep) {
  return (app: FastifyInstance): void => {
    const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      const origins = new MessageOrigins();
      const parsed = parseResponsesRequest(request.body, { ...parse, origins });
      checkRequestLimits(parsed.request, opts.limits, origins);
      const id = newResponseId();
      // the stored-state step puts the earlier turns first and keeps this one (stored-state.ts)
      const turn = await stored.begin(parsed, id, ownerOf(request.gw.keyDigest), request.log);
      const init: ResponseInit = {
        id,
        createdAt: Math.floor(Date.now() / 1000),
        model: parsed.request.requestedModel,
        echo: parsed.echo,
        seal: parsed.echo.encryptedReasoning ? parse.reasoningSeal : undefined,
      };
      await runCompletion(engine, turn.request, turn.frontEnd(init), request, reply, opts, turn.continuation);
    };
    app.post('/v1/responses', handler);
    app.post('/responses', handler);
  };
}
