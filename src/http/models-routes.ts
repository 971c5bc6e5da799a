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

type Listing = ModelRouter & { models?: () => ListedModel[]; isInactive?: (endpointId: string) => boolean };

export function modelRoutes(router: Listing) {
  return (app: FastifyInstance): void => {
    const rows = (): ListedModel[] => router.models?.() ?? router.list();
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
    const list = async () => ({ object: 'list' as const, data: rows().map(entry) });
    app.get('/v1/models', list);
    app.get('/models', list);
    const one = async (request: { params: { id: string } }) => {
      const id = request.params.id;
      const known = rows().find((m) => m.id === id);
      if (known) return entry(known);
      if (/^(predefined|byoi|byom)-/.test(id) && router.isInactive?.(id) !== true) return entry({ id, endpointId: id });
      throw modelNotFound(id);
    };
    app.get<{ Params: { id: string } }>('/v1/models/:id', one);
    app.get<{ Params: { id: string } }>('/models/:id', one);
  };
}
