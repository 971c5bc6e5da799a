/** POST /v1/completions: the legacy completions front end wired to the engine. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ParseOptions } from '../validate.js';
import type { Engine } from '../../core/engine.js';
import { checkRequestLimits, MessageOrigins } from '../../core/limits.js';
import type { FrontEnd, RunnerOptions } from '../runner.js';
import { runCompletion } from '../runner.js';
import { parseCompletionsRequest } from './request.js';
import { createTextCompletionEncoder, newTextCompletionId, renderTextCompletion } from './render.js';

export function completionsRoutes(engine: Engine, opts: RunnerOptions, parse: ParseOptions = {}) {
  return (app: FastifyInstance): void => {
    const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      const origins = new MessageOrigins();
      const parsed = parseCompletionsRequest(request.body, { ...parse, origins });
      checkRequestLimits(parsed.request, opts.limits, origins);
      const init = {
        id: newTextCompletionId(),
        created: Math.floor(Date.now() / 1000),
        model: parsed.request.requestedModel,
        ...(parsed.echo ? { echoPrompt: parsed.prompt } : {}),
      };
      const frontEnd: FrontEnd = {
        streamEncoder: () => createTextCompletionEncoder({ ...init, includeUsage: parsed.includeUsage }),
        render: (answer) => renderTextCompletion(init, answer),
      };
      await runCompletion(engine, parsed.request, frontEnd, request, reply, opts);
    };
    app.post('/v1/completions', handler);
    app.post('/completions', handler);
  };
}
