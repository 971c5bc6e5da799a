/** GET /v1/models and /v1/models/{id}: the OpenAI list of the model names this gateway routes. */
import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../core/errors.js';
import type { ModelRouter } from '../ondemand/models.js';

const CREATED = Math.floor(Date.now() / 1000);

export function modelRoutes(router: ModelRouter) {
  return (app: FastifyInstance): void => {
    const entry = (id: string, endpointId: string) => ({ id, object: 'model' as const, created: CREATED, owned_by: 'ondemand', endpoint_id: endpointId });
    const list = async () => ({ object: 'list' as const, data: router.list().map((m) => entry(m.id, m.endpointId)) });
    app.get('/v1/models', list);
    app.get('/models', list);
    const one = async (request: { params: { id: string } }) => {
      const id = request.params.id;
      const known = router.list().find((m) => m.id === id);
      if (known) return entry(known.id, known.endpointId);
      if (/^(predefined|byoi|byom)-/.test(id)) return entry(id, id);
      throw new GatewayError(`The model \`${id}\` does not exist or you do not have access to it.`, {
        status: 404,
        type: 'invalid_request_error',
        code: 'model_not_found',
        param: 'model',
      });
    };
    app.get<{ Params: { id: string } }>('/v1/models/:id', one);
    app.get<{ Params: { id: string } }>('/models/:id', one);
  };
}
