import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServerContext } from '../context.js';
import { describeConfig } from '../kserve/model-config-json.js';
import { errorResponses, modelParams, statsResponseSchema } from '../kserve/schemas.js';
import { modelStatistics } from '../kserve/service.js';

/** Triton's statistics and configuration extensions. */

type ModelRouteParams = { model: string; version?: string };

export function registerModelInfoRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const statsOptions = { schema: { response: { 200: statsResponseSchema, ...errorResponses } } };
  app.get('/v2/models/stats', statsOptions, async () => ({
    model_stats: modelStatistics(ctx, undefined, undefined),
  }));
  const stats = async (request: FastifyRequest<{ Params: ModelRouteParams }>) => ({
    model_stats: modelStatistics(ctx, request.params.model, request.params.version),
  });
  const statsModelOptions = { schema: { params: modelParams, response: statsOptions.schema.response } };
  app.get('/v2/models/:model/stats', statsModelOptions, stats);
  app.get('/v2/models/:model/versions/:version/stats', statsModelOptions, stats);

  const config = async (request: FastifyRequest<{ Params: ModelRouteParams }>) =>
    describeConfig(ctx.registry.peek(request.params.model, request.params.version));
  // The config is a free-form object (Triton's is too); its fields are documented in docs/serving.md.
  const configOptions = {
    schema: {
      params: modelParams,
      response: { 200: { type: 'object', additionalProperties: true }, ...errorResponses },
    },
  };
  app.get('/v2/models/:model/config', configOptions, config);
  app.get('/v2/models/:model/versions/:version/config', configOptions, config);
}
