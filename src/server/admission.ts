import type { FastifyReply, FastifyRequest } from 'fastify';
import { requestStart, type ServerContext } from './context.js';

/**
 * Admission control for the inference routes, run on arrival (onRequest), before the body is read,
 * decompressed or parsed: an unknown or unready model is refused at once, and so is a request whose
 * model's queue is full. Under overload most requests end here, so this path is kept to a map lookup,
 * a counter and a pre-serialized answer: no body read, no JSON serialization, no log line per request
 * (the rate-limited summary of ./overload-log.ts instead).
 */

type ModelParams = { Params: { model: string; version?: string } };

export function admissionHook(ctx: ServerContext) {
  return async (request: FastifyRequest<ModelParams>, reply: FastifyReply) => {
    // Throws the usual 404 / 503 ERR_MODEL_NOT_READY, through the error handler.
    const inst = ctx.registry.peek(request.params.model, request.params.version);
    if (!inst.queueFull) return;
    const retryAfter = inst.refuseQueueFull(requestStart(reply));
    return reply
      .code(503)
      .header('retry-after', String(retryAfter))
      .type('application/json; charset=utf-8')
      .send(inst.queueFullBody);
  };
}
