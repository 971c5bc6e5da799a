/**
 * GET /v1beta/models and /v1beta/models/{model}: the model names this gateway routes, as Gemini's Model objects
 * (`name: "models/<id>"`). One page holds them all (no nextPageToken). Token limits are not known, so not given.
 */
import { GatewayError } from '../../core/errors.js';
import type { ListedModel } from '../../ondemand/catalogue.js';
import type { ModelRouter } from '../../ondemand/models.js';
import type { Json } from '../validate.js';

export type ModelListing = ModelRouter & { models?: () => ListedModel[]; isInactive?: (endpointId: string) => boolean };

const METHODS = ['generateContent', 'streamGenerateContent', 'countTokens'];

export function geminiModel(m: ListedModel): Json {
  const out: Json = {
    name: `models/${m.id}`,
    baseModelId: m.endpointId,
    version: '001',
    displayName: m.name ?? m.id,
    description: `OnDemand endpoint ${m.endpointId}`,
    supportedGenerationMethods: METHODS,
  };
  if (m.reasoning !== undefined) out.thinking = m.reasoning;
  return out;
}

export function listGeminiModels(router: ModelListing): Json {
  return { models: (router.models?.() ?? router.list()).map(geminiModel) };
}

/** One model by id (with or without `models/`); a 404 GatewayError for a name the gateway does not route. */
export function getGeminiModel(router: ModelListing, name: string): Json {
  const id = name.replace(/^models\//, '');
  const known = (router.models?.() ?? router.list()).find((m) => m.id === id);
  if (known !== undefined) return geminiModel(known);
  if (/^(predefined|byoi|byom)-/.test(id) && router.isInactive?.(id) !== true) return geminiModel({ id, endpointId: id });
  throw new GatewayError(`models/${id} is not found for API version v1beta, or is not supported for generateContent.`, {
    status: 404,
    type: 'not_found_error',
    code: 'model_not_found',
    param: 'model',
  });
}
