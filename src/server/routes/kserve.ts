import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { admissionHook } from '../admission.js';
import { clientSignal, requestStart, serverTiming, toRequestParams, type ServerContext } from '../context.js';
import { HttpError, badRequest } from '../http-errors.js';
import { HEADER_LENGTH, buildBinaryResponse, splitBinaryRequest } from '../kserve/binary.js';
import { decodeInferInput } from '../kserve/decode-inputs.js';
import { encodeOutputs } from '../kserve/outputs.js';
import {
  errorResponses,
  inferRequestSchema,
  inferResponseSchema,
  modelMetadataSchema,
  modelParams,
  serverMetadataSchema,
} from '../kserve/schemas.js';
import { inferResponseParameters, modelMetadata, modelReady, serverMetadata } from '../kserve/service.js';
import type { InferRequestBody, InferResponseBody } from '../kserve/types.js';
import { checkParamsForModel } from './params.js';
import { registerTritonExtensionRoutes } from './triton-extensions.js';

/** KServe v2 core routes: health, server and model metadata, readiness, infer. */

type ModelRouteParams = { model: string; version?: string };
type InferRoute = { Params: ModelRouteParams; Body: InferRequestBody };

export function registerKserveRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const healthSchema = { response: { 200: { type: 'null' }, 503: { type: 'null' } } };
  const publicRoute = { config: { public: true }, schema: healthSchema };

  // Not live once a model lost its GPU context: an orchestrator restarts the process, the only recovery.
  app.get('/v2/health/live', publicRoute, async (_req, reply) => {
    reply.code(ctx.registry.live() ? 200 : 503).send();
  });
  app.get('/v2/health/ready', publicRoute, async (_req, reply) => {
    reply.code(!ctx.shuttingDown && ctx.registry.ready() ? 200 : 503).send();
  });

  app.get('/v2', { schema: { response: { 200: serverMetadataSchema, ...errorResponses } } }, async () =>
    serverMetadata(ctx),
  );

  const metadata = async (request: FastifyRequest<{ Params: ModelRouteParams }>) =>
    modelMetadata(ctx, request.params.model, request.params.version);
  const metadataOptions = {
    schema: { params: modelParams, response: { 200: modelMetadataSchema, ...errorResponses } },
  };
  app.get('/v2/models/:model', metadataOptions, metadata);
  app.get('/v2/models/:model/versions/:version', metadataOptions, metadata);

  // Ready: 200 or 503 with an empty body; an unknown model or version is an error.
  const ready = async (request: FastifyRequest<{ Params: ModelRouteParams }>, reply: FastifyReply) =>
    reply.code(modelReady(ctx, request.params.model, request.params.version) ? 200 : 503).send();
  const readyOptions = {
    schema: {
      params: modelParams,
      response: {
        200: { type: 'null' },
        503: { type: 'null' },
        404: errorResponses['4xx'],
        400: errorResponses['4xx'],
      },
    },
  };
  app.get('/v2/models/:model/ready', readyOptions, ready);
  app.get('/v2/models/:model/versions/:version/ready', readyOptions, ready);

  void app.register(async (scope) => registerInfer(scope, ctx));
  registerTritonExtensionRoutes(app);
}

function parseJsonBody(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw badRequest(`the request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** Binary bodies of infer requests, between preValidation (which splits them) and the handler. */
const binaryParts = new WeakMap<FastifyRequest, Buffer>();

function registerInfer(app: FastifyInstance, ctx: ServerContext): void {
  // In this scope any body type reaches preValidation as bytes: Triton's clients send binary requests
  // with no Content-Type at all. Those without the header are refused there with a 415.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const handler = async (request: FastifyRequest<InferRoute>, reply: FastifyReply) => {
    const start = requestStart(reply);
    const body = request.body;
    const binary = binaryParts.get(request);
    const routed = ctx.candidates.acquire(request.params.model, request.params.version);
    const inst = routed.inst;
    try {
      const info = inst.detector.model;
      const input = decodeInferInput(body, binary, {
        maxImages: ctx.limits.maxImagesPerRequest,
        imgsz: info.imgsz,
      });
      const params = toRequestParams(body.parameters ?? {});
      checkParamsForModel(params, info.names.length);
      // Validate requested outputs before spending inference on them.
      encodeOutputs([], body.outputs, false);
      const outcome = await routed.infer({ ...input, params }, start, clientSignal(request, reply));
      const { outputs, blobs } = encodeOutputs(
        outcome.results,
        body.outputs,
        body.parameters?.binary_data_output === true,
      );
      const response: InferResponseBody = {
        model_name: inst.name,
        model_version: inst.version,
        ...(body.id === undefined ? {} : { id: body.id }),
        parameters: inferResponseParameters(outcome),
        outputs,
      };
      reply.header('server-timing', serverTiming(outcome));
      if (blobs.length === 0) return response;
      const { body: payload, headerLength } = buildBinaryResponse(response, blobs);
      reply.header('inference-header-content-length', String(headerLength));
      reply.type('application/octet-stream');
      return reply.send(payload);
    } finally {
      routed.release();
    }
  };

  const options = {
    schema: {
      params: modelParams,
      body: inferRequestSchema,
      response: { 200: inferResponseSchema, ...errorResponses },
    },
    // Unknown models and full queues are refused before the body is read.
    onRequest: admissionHook(ctx),
    preValidation: async (request: FastifyRequest) => {
      const body: unknown = request.body;
      if (!Buffer.isBuffer(body)) return;
      if (request.headers[HEADER_LENGTH] === undefined) {
        // Triton's clients send plain JSON requests without a Content-Type too.
        if (request.headers['content-type'] === undefined) {
          request.body = parseJsonBody(body);
          return;
        }
        throw new HttpError(
          415,
          'ERR_UNSUPPORTED_MEDIA_TYPE',
          `Expected Content-Type application/json, or a binary body with Inference-Header-Content-Length, but received ${request.headers['content-type'] ?? 'no Content-Type'}`,
        );
      }
      const { header, rest } = splitBinaryRequest(body, request.headers[HEADER_LENGTH]);
      request.body = header;
      binaryParts.set(request, rest);
    },
  };
  app.post<InferRoute>('/v2/models/:model/infer', options, handler);
  app.post<InferRoute>('/v2/models/:model/versions/:version/infer', options, handler);
}
