/** POST /v1/chat/completions: the OpenAI chat front end wired to the engine. */
import type { FastifyInstance } from 'fastify';
import type { ParseOptions } from '../validate.js';
import type { Engine } from '../../core/engine.js';
import { checkRequestLimits, MessageOrigins } from '../../core/limits.js';
import type { FrontEnd, RunnerOptions } from '../runner.js';
import { runCompletion } from '../runner.js';
import { parseChatRequest } from './request.js';
import { newCompletionId, renderChatCompletion } from './response.js';
import { createChatChunkEncoder } from './stream.js';

export function chatRoutes(engine: Engine, opts: RunnerOptions, parse: ParseOptions = {}) {
  return (app: FastifyInstance): void => {
    const handler = async (request: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply): Promise<void> => {
      const origins = new MessageOrigins();
      const { request: gwRequest, includeUsage } = parseChatRequest(request.body, { ...parse, acceptMedia: true, origins });
      checkRequestLimits(gwRequest, opts.limits, origins);
      const id = newCompletionId();
      const created = Math.floor(Date.now() / 1000);
      const model = gwRequest.requestedModel;
      const frontEnd: FrontEnd = {
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
      };
      await runCompletion(engine, gwRequest, frontEnd, request, reply, opts);
    };
    app.post('/v1/chat/completions', handler);
    app.post('/chat/completions', handler);
  };
}
