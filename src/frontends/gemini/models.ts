/**
 * GET /v1beta/models and /v1beta/models/{model}: the model names this gateway routes, as Gemini's Model objects
 * (`name: "models/<id>"`). One page holds them all (no nextPageToken). Token limits are not known, so not given.
 */
import { gatewayError } from '../../core/errors.js';
import { findModel, listedModels, type ModelListing } from '../../http/models-routes.js';
import type { ListedModel } from '../../upstream/catalogue.js';
import type { Json } from '../validate.js';

export type { ModelListing } from '../../http/models-routes.js';

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
  return { models: listedModels(router).map(geminiModel) };
}

/** One model by id (with or without `models/`); a 404 for a name the gateway does not route. */
export function getGeminiModel(router: ModelListing, name: string): Json {
  const id = name.replace(/^models\//, '');
  const found = findModel(router, id);
  if (found === undefined) {
    throw gatewayError('model_not_found', `models/${id} is not found for API version v1beta, or is not supported for generateContent.`, { param: 'model' });
  }
  return geminiModel(found);
}
