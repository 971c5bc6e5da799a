/**
 * GET /v1/models and /v1/models/{id}: the OpenAI list of the model names this gateway routes. With the live
 * catalogue (src/upstream/catalogue.ts) only active endpoints are listed, and each entry says what the catalogue
 * says of it: `streaming`, `reasoning` (+ `reasoning_efforts`), the upstream `name`. Extra fields are allowed by
 * every OpenAI client.
 */
import type { FastifyInstance } from 'fastify';
import { modelNotFound } from '../core/errors.js';
import type { ListedModel } from '../upstream/catalogue.js';
import type { ModelRouter } from '../ondemand/models.js';

const CREATED = Math.floor(Date.now() / 1000);

/** The model router, with the live catalogue's listing when there is one. */
export type ModelListing = ModelRouter & { models?: () => ListedModel[]; isInactive?: (endpointId: string) => boolean };

export const listedModels = (router: ModelListing): ListedModel[] => router.models?.() ?? router.list();

/** One model by id: a listed one, or an endpoint id the catalogue does not call inactive; undefined for neither. */
export function findModel(router: ModelListing, id: string): ListedModel | undefined {
  const known = listedModels(router).find((m) => m.id === id);
  if (known !== undefined) return known;
  return /^(predefined|byoi|byom)-/.test(id) && router.isInactive?.(id) !== true ? { id, endpointId: id } : undefined;
}

export function modelRoutes(router: ModelListing) {
  return (app: FastifyInstance): void => {
    const entry = (m: ListedModel) => ({
      id: m.id,
      object: 'model' as const,
      created: CREATED,
      owned_by: 'ondemand',
      endpoint_id: m.endpointId,
      ...(m.name !== undefined ? { name: m.name } : {}),
      ...(m.streaming !== undefined ? { streaming: m.streaming } : {}),
      ...(m.reasoning !== undefined ? { reasoning: m.reasoning } : {}),
      ...(m.reasoningEfforts !== undefined && m.reasoningEfforts.length > 0 ? { reasoning_efforts: m.reasoningEfforts } : {}),
    });
    const list = async () => ({ object: 'list' as const, data: listedModels(router).map(entry) });
    app.get('/v1/models', list);
    app.get('/models', list);
    const one = async (request: { params: { id: string } }) => {
      const found = findModel(router, request.params.id);
      if (found === undefined) throw modelNotFound(request.params.id);
      return entry(found);
    };
    app.get<{ Params: { id: string } }>('/v1/models/:id', one);
    app.get<{ Params: { id: string } }>('/models/:id', one);
  };
}
