import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServerContext } from '../context.js';
import { parseLoadConfig } from '../kserve/load-config.js';
import { readUntypedBodiesAsJson } from './json-body.js';
import {
  errorResponses,
  modelParams,
  repositoryIndexBodySchema,
  repositoryIndexResponseSchema,
  repositoryLoadBodySchema,
} from '../kserve/schemas.js';

/**
 * Triton's model repository extension. `load` builds the new versions in the background while the
 * current ones serve and answers once the switch is done (or with why it failed, the old versions
 * still serving). `unload` stops routing to the model at once; running requests finish first.
 */

type LoadBody = { parameters?: { config?: string } } | null | undefined;

export function registerRepositoryRoutes(root: FastifyInstance, ctx: ServerContext): void {
  void root.register(async (app) => {
    readUntypedBodiesAsJson(app);
    registerRoutes(app, ctx);
  });
}

function registerRoutes(app: FastifyInstance, ctx: ServerContext): void {
  // Clients often POST these with no body at all.
  const emptyBodyIsNull = async (request: FastifyRequest) => {
    request.body ??= null;
  };

  app.post<{ Body: { ready?: boolean } | null }>(
    '/v2/repository/index',
    {
      schema: {
        body: repositoryIndexBodySchema,
        response: { 200: repositoryIndexResponseSchema, ...errorResponses },
      },
      preValidation: emptyBodyIsNull,
    },
    async (request: FastifyRequest<{ Body: { ready?: boolean } | null }>) =>
      ctx.registry.index(request.body?.ready === true),
  );

  const loadResponse = {
    200: {
      type: 'object',
      properties: { name: { type: 'string' }, versions: { type: 'array', items: { type: 'string' } } },
    },
    ...errorResponses,
  };

  app.post<{ Params: { model: string }; Body: LoadBody }>(
    '/v2/repository/models/:model/load',
    {
      schema: { params: modelParams, body: repositoryLoadBodySchema, response: loadResponse },
      preValidation: emptyBodyIsNull,
    },
    async (request: FastifyRequest<{ Params: { model: string }; Body: LoadBody }>) => {
      const name = request.params.model;
      const override = parseLoadConfig(request.body?.parameters?.config, name);
      await ctx.registry.load(name, override);
      request.log.info({ model: name }, 'model load finished');
      return { name, versions: ctx.registry.serving(name).map((i) => i.version) };
    },
  );

  app.post<{ Params: { model: string } }>(
    '/v2/repository/models/:model/unload',
    {
      schema: { params: modelParams, response: loadResponse },
      preValidation: emptyBodyIsNull,
    },
    async (request: FastifyRequest<{ Params: { model: string } }>) => {
      await ctx.registry.unload(request.params.model);
      return { name: request.params.model, versions: [] };
    },
  );

  // yolo-trt's extension (KServe and Triton have no promotion route): candidate versions.
  app.post<{ Params: { model: string } }>(
    '/v2/repository/models/:model/promote',
    { schema: { params: modelParams, response: errorResponses }, preValidation: emptyBodyIsNull },
    async (request: FastifyRequest<{ Params: { model: string } }>) =>
      ctx.candidates.promote(request.params.model),
  );

  app.post<{ Params: { model: string }; Body: RollbackBody }>(
    '/v2/repository/models/:model/rollback',
    {
      schema: { params: modelParams, body: rollbackBodySchema, response: errorResponses },
      preValidation: emptyBodyIsNull,
    },
    async (request: FastifyRequest<{ Params: { model: string }; Body: RollbackBody }>) =>
      ctx.candidates.rollback(request.params.model, request.body?.reason),
  );
}

type RollbackBody = { reason?: string } | null | undefined;

const rollbackBodySchema = {
  anyOf: [
    { type: 'null' },
    {
      type: 'object',
      properties: { reason: { type: 'string', minLength: 1, maxLength: 200 } },
      additionalProperties: false,
    },
  ],
} as const;
