/** POST /v1/responses: the OpenAI Responses front end as a spec. Errors keep the OpenAI shape. */
import { defineFrontEnd, type RegisteredFrontEnd } from '../spec.js';
import { parseResponsesRequest, type ResponsesParseOptions } from './request.js';
import { newResponseId, type ResponseInit } from './render.js';
import { ownerOf } from './stored-items.js';
import type { StoredStateStep } from './stored-state.js';

/** `parse.reasoningSeal` reads the reasoning items clients send back and seals the ones they ask for. */
export function responsesFrontEnd(parse: ResponsesParseOptions, stored: StoredStateStep): RegisteredFrontEnd {
  return defineFrontEnd({
    name: 'OpenAI Responses',
    paths: ['/v1/responses', '/responses'],
    parse: (body, origins) => parseResponsesRequest(body, { defaultModel: parse.defaultModel, reasoningSeal: parse.reasoningSeal, origins }),
    turn: async (parsed, request) => {
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
      return { request: turn.request, answer: turn.frontEnd(init), continuation: turn.continuation };
    },
  });
}
