import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { admissionHook } from '../admission.js';
import { clientSignal, requestStart, serverTiming, toRequestParams, type ServerContext } from '../context.js';
import { HttpError, badRequest } from '../http-errors.js';
import { detectQuerySchema, detectResultSchema, errorResponses, modelParams } from '../kserve/schemas.js';
import { checkParamsForModel } from './params.js';

/**
 * `POST /v2/models/{m}[/versions/{v}]/detect`: the convenient route. The body is one encoded image
 * (image/*, application/octet-stream) answered with one DetectResult, or multipart/form-data with one
 * or more image files answered with an array of them, in part order. Thresholds in the query string.
 */

type DetectQuery = { conf?: number; iou?: number; max_det?: number; classes?: string; agnostic?: boolean };
type DetectParams = { model: string; version?: string };
type DetectRoute = { Params: DetectParams; Querystring: DetectQuery };

const ACCEPTED = /^(image\/[a-z0-9.+-]+|application\/octet-stream|multipart\/form-data)\s*(;|$)/i;

export function registerDetectRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const schema = {
    params: modelParams,
    querystring: detectQuerySchema,
    response: {
      200: { anyOf: [detectResultSchema, { type: 'array', items: detectResultSchema }] },
      ...errorResponses,
    },
  };
  const handler = async (request: FastifyRequest<DetectRoute>, reply: FastifyReply) => {
    const start = requestStart(reply);
    const params = toRequestParams(request.query);
    let images: Uint8Array[];
    const multi = request.isMultipart();
    if (multi) images = await readMultipartImages(request, ctx);
    else {
      const body = request.body;
      if (!Buffer.isBuffer(body) || body.length === 0)
        throw badRequest('Expected an encoded image in the body but it is empty');
      images = [body];
    }
    const routed = ctx.candidates.acquire(request.params.model, request.params.version);
    const inst = routed.inst;
    try {
      checkParamsForModel(params, inst.detector.model.names.length);
      const outcome = await routed.infer(
        { kind: 'images', images, params },
        start,
        clientSignal(request, reply),
      );
      reply.header('server-timing', serverTiming(outcome));
      reply.header('x-model-version', inst.version);
      return multi ? outcome.results : outcome.results[0];
    } finally {
      routed.release();
    }
  };
  const options = {
    schema,
    // Refuse other media types, unknown models and full queues before reading a byte of the body.
    onRequest: [refuseMediaType, admissionHook(ctx)],
  };
  app.post<DetectRoute>('/v2/models/:model/detect', options, handler);
  app.post<DetectRoute>('/v2/models/:model/versions/:version/detect', options, handler);
}

async function refuseMediaType(request: FastifyRequest): Promise<void> {
  const type = request.headers['content-type'];
  if (type === undefined || !ACCEPTED.test(type)) {
    throw new HttpError(
      415,
      'ERR_UNSUPPORTED_MEDIA_TYPE',
      `Expected Content-Type image/jpeg, image/png, image/webp, application/octet-stream or multipart/form-data but received ${type === undefined ? 'none' : `'${type.slice(0, 60)}'`}`,
    );
  }
}

async function readMultipartImages(request: FastifyRequest, ctx: ServerContext): Promise<Buffer[]> {
  const { bodyLimit, maxImagesPerRequest } = ctx.limits;
  const images: Buffer[] = [];
  let total = 0;
  try {
    const parts = request.parts({
      limits: {
        fileSize: bodyLimit,
        files: maxImagesPerRequest,
        fields: 32,
        fieldSize: 4096,
        parts: maxImagesPerRequest + 32,
      },
    });
    for await (const part of parts) {
      if (part.type !== 'file') continue; // fields are ignored; thresholds go in the query string
      const buffer = await part.toBuffer();
      total += buffer.length;
      if (total > bodyLimit) {
        throw new HttpError(
          413,
          'ERR_BODY_TOO_LARGE',
          `the multipart files exceed the body limit of ${bodyLimit} bytes`,
        );
      }
      images.push(buffer);
    }
  } catch (err) {
    throw malformedMultipart(err);
  }
  if (images.length === 0)
    throw badRequest('Expected at least one file part in the multipart body but received none');
  return images;
}

/**
 * Errors while reading a multipart body are the body's: busboy's own ("Unexpected end of form", "Part
 * terminated early", "Malformed part header", "Boundary not found") carry no status and would be 500s.
 * Limits and our own errors keep their status.
 */
function malformedMultipart(err: unknown): unknown {
  if (err instanceof HttpError) return err;
  const e = err as { statusCode?: unknown; message?: unknown };
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return err;
  const why = typeof e?.message === 'string' ? e.message.slice(0, 200) : 'unreadable';
  return new HttpError(400, 'ERR_BAD_REQUEST', `the multipart body is malformed: ${why}`, { cause: err });
}
