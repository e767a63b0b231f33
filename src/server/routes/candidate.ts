import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { HttpError } from '../http-errors.js';
import { modelParams } from '../kserve/schemas.js';

/**
 * `GET /v2/models/{name}/candidate`: the model's candidate version and how it agrees with the primary
 * (candidate-service.ts CandidateReport). A yolo-trt extension ("yolo_trt_candidates"); promote and
 * rollback are repository routes (routes/repository.ts).
 */
export function registerCandidateRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get<{ Params: { model: string } }>(
    '/v2/models/:model/candidate',
    { schema: { params: modelParams } },
    async (request) => {
      const name = request.params.model;
      if (!ctx.registry.names().includes(name)) {
        throw new HttpError(404, 'ERR_NOT_FOUND', `unknown model '${name.slice(0, 128)}'`);
      }
      return ctx.candidates.report(name);
    },
  );
}
