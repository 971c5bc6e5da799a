/**
 * POST /v1/messages and POST /v1/messages/count_tokens: the Anthropic Messages front end as a spec. Errors on these
 * routes (auth, validation, upstream) are rendered in Anthropic's shape. The `anthropic-version` and
 * `anthropic-beta` headers are accepted and not checked.
 */
import type { FastifyContextConfig, FastifyInstance, FastifyRequest } from 'fastify';
import { type ParseOptions, withOrigins } from '../validate.js';
import { upstreamQuery } from '../../core/answer.js';
import { checkRequestLimits, MessageOrigins } from '../../core/limits.js';
import { countTokens } from '../../core/tokens.js';
import type { GatewayRequest } from '../../core/types.js';
import type { RequestLimits } from '../../core/limits.js';
import { defineFrontEnd, type FrontEnd, type RegisteredFrontEnd } from '../spec.js';
import { parseMessagesRequest } from './request.js';
import { createMessagesEncoder, type MessageInit, newMessageId, renderAnthropicError, renderMessage } from './render.js';

/** Input tokens as this gateway counts them locally: the OnDemand query the request becomes (tools included). */
export function estimateInputTokens(req: GatewayRequest): number {
  return countTokens(upstreamQuery(req, '').query);
}

/** One message, streamed or whole; a stream's message_start counts the input tokens locally (`inputTokens`). */
export function messagesAnswer(init: MessageInit, inputTokens: () => number): FrontEnd {
  return {
    streamEncoder: () => createMessagesEncoder({ ...init, inputTokens: inputTokens() }),
    render: (answer) => renderMessage(init, answer),
  };
}

export function anthropicFrontEnd(parse: ParseOptions = {}): RegisteredFrontEnd {
  return defineFrontEnd({
    name: 'Anthropic Messages',
    paths: ['/v1/messages', '/messages'],
    renderError: renderAnthropicError,
    parse: (body, origins) => ({ request: parseMessagesRequest(body, withOrigins(parse, origins)) }),
    turn: ({ request }) => ({ request, answer: messagesAnswer({ id: newMessageId(), model: request.requestedModel }, () => estimateInputTokens(request)) }),
    extraRoutes: (app: FastifyInstance, limits: RequestLimits, config: FastifyContextConfig) => {
      const countTokensRoute = async (request: FastifyRequest): Promise<{ input_tokens: number }> => {
        // counted locally on the query the request becomes; the model name is not resolved (auto routing may pick it)
        const origins = new MessageOrigins();
        const gwRequest = parseMessagesRequest(request.body, { defaultModel: parse.defaultModel, requireMaxTokens: false, origins });
        checkRequestLimits(gwRequest, limits, origins);
        return { input_tokens: estimateInputTokens(gwRequest) };
      };
      app.post('/v1/messages/count_tokens', { config }, countTokensRoute);
      app.post('/messages/count_tokens', { config }, countTokensRoute);
    },
  });
}
