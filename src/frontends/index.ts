/**
 * Every client API the gateway serves, in one list. A new front end is a folder with its request parser and
 * answer projection, and one spec added here (src/frontends/spec.ts; README "How to add a front end").
 */
import { anthropicFrontEnd } from './anthropic/route.js';
import { completionsFrontEnd } from './completions/route.js';
import type { ModelListing } from './gemini/models.js';
import { geminiFrontEnd } from './gemini/route.js';
import { chatFrontEnd } from './openai-chat/route.js';
import type { ResponsesParseOptions } from './responses/request.js';
import { responsesFrontEnd } from './responses/route.js';
import type { StoredStateStep } from './responses/stored-state.js';
import type { RegisteredFrontEnd } from './spec.js';
import type { ParseOptions } from './validate.js';

export interface FrontEndDeps {
  /** the default model, when a request may leave it out */
  parse: ParseOptions;
  /** the Responses API's reasoning seal */
  responses: ResponsesParseOptions;
  /** stored responses and conversations */
  stored: StoredStateStep;
  /** the models the gateway routes (Gemini's model list) */
  models: ModelListing;
}

export function frontEnds(deps: FrontEndDeps): RegisteredFrontEnd[] {
  return [
    chatFrontEnd(deps.parse),
    completionsFrontEnd(deps.parse),
    responsesFrontEnd(deps.responses, deps.stored),
    anthropicFrontEnd(deps.parse),
    geminiFrontEnd(deps.parse, deps.models),
  ];
}
