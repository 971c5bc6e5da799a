/**
 * POST /v1/messages and POST /v1/messages/count_tokens: the Anthropic Messages front end. Errors on these routes
 * (auth, validation, upstream) are rendered in Anthropic's shape through the route's `renderError`. The
 * `anthropic-version` and `anthropic-beta` headers are accepted and not checked.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ParseOptions } from '../validate.js';
import type { Engine } from '../../core/engine.js';
import { checkRequestLimits, MessageOrigins } from '../../core/limits.js';
import type { GatewayRequest } from '../../core/types.js';
import type { FrontEnd, RunnerOptions } from '../runner.js';
import { runCompletion } from '../runner.js';
import { upstreamQuery } from '../../core/answer.js';
import { countTokens } from '../../core/tokens.js';
import { parseMessagesRequest } from './request.js';
import { createMessagesEncoder, newMessageId, renderAnthropicError, renderMessage } from './render.js';

/** Input tokens as this gateway counts them locally: the OnDemand query the request becomes (tools included). */
export function estimateInputTokens(req: GatewayRequest): number {
  return countTokens(upstreamQuery(req, '').query);
}

export function anthropicRoutes(engine: Engine, opts: RunnerOptions, parse: ParseOptions = {}) {
  return (app: FastifyInstance): void => {
    const config = { renderError: renderAnthropicError };
    const messages = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      const origins = new MessageOrigins();
      const gwRequest = parseMessagesRequest(request.body, { ...parse, origins });
      checkRequestLimits(gwRequest, opts.limits, origins);
      const init = { id: newMessageId(), model: gwRequest.requestedModel };
      const frontEnd: FrontEnd = {
        streamEncoder: () => createMessagesEncoder({ ...init, inputTokens: estimateInputTokens(gwRequest) }),
        render: (answer) => renderMessage(init, answer),
      };
      await runCompletion(engine, gwRequest, frontEnd, request, reply, opts);
    };
    const countTokensRoute = async (request: FastifyRequest): Promise<{ input_tokens: number }> => {
      // counted locally on the query the request becomes; the model name is not resolved (auto routing may pick it)
      const origins = new MessageOrigins();
      const gwRequest = parseMessagesRequest(request.body, { ...parse, requireMaxTokens: false, origins });
      checkRequestLimits(gwRequest, opts.limits, origins);
      return { input_tokens: estimateInputTokens(gwRequest) };
    };
    app.post('/v1/messages', { config }, messages);
    app.post('/messages', { config }, messages);
    app.post('/v1/messages/count_tokens', { config }, countTokensRoute);
    app.post('/messages/count_tokens', { config }, countTokensRoute);
  };
}
