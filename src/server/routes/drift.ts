import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { HttpError } from '../http-errors.js';

/**
 * `GET /v2/models/{name}/drift`: the model's live drift report (src/monitoring/drift.ts DriftReport):
 * { window, minWindow, ready, alert, alerts, pValue, features: { <feature>: { psi | js, pValue,
 * adjustedPValue, status, reference, current, images } } }. A yolo-trt extension of the KServe routes.
 */
export function registerDriftRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get<{ Params: { model: string } }>('/v2/models/:model/drift', async (request) => {
    const name = request.params.model;
    const report = ctx.drift?.report(name);
    if (report === undefined) {
      const known = ctx.registry.names().includes(name);
      throw new HttpError(
        404,
        'ERR_NOT_FOUND',
        known
          ? `model '${name}' has no drift reference (serve it with --drift-reference ${name}=profile.json)`
          : `unknown model '${name}'`,
      );
    }
    return report;
  });
}
