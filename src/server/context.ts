import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CandidateService } from './candidate-service.js';
import type { CaptureService } from './capture-service.js';
import type { DriftService } from './drift-service.js';
import type { ServerMetrics } from './metrics.js';
import type { InferOutcome, RequestParams } from './model-instance.js';
import type { ModelRegistry } from './model-registry.js';

export interface ServerLimits {
  /** Largest request body, bytes (also the largest multipart file). */
  bodyLimit: number;
  /** Largest image, pixels (decompression bombs are refused before decoding). */
  maxInputPixels: number;
  /** Images per request (multipart files, BYTES elements, FP32 N). */
  maxImagesPerRequest: number;
  /** The whole request (headers and body) must arrive within this, ms (0 = no limit): slow bodies end. */
  requestTimeoutMs: number;
  /** The request headers must arrive within this, ms (at most requestTimeoutMs): slow headers end. */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this, ms. */
  keepAliveTimeoutMs: number;
  /**
   * A connection with no bytes in either direction for this long is closed, ms (0 = never). It also
   * runs while a request waits for inference: keep it above the models' batching.timeoutMs.
   */
  idleTimeoutMs: number;
  /** Requests on one keep-alive connection before the server closes it (0 = no limit). */
  maxRequestsPerSocket: number;
  /** Open connections at most; further ones are closed on arrival. */
  maxConnections: number;
}

/** What every route needs; also reachable as `app.yolo` (tests, the CLI's shutdown). */
export interface ServerContext {
  registry: ModelRegistry;
  metrics: ServerMetrics;
  limits: ServerLimits;
  packageVersion: string;
  /** Set when shutdown begins: readiness turns false. */
  shuttingDown: boolean;
  /** Candidate versions (shadow, canary) on the request path; promote and rollback. */
  candidates: CandidateService;
  /** Drift monitors of the models with a reference profile (--drift-reference). */
  drift?: DriftService | undefined;
  /** Capture for retraining of the models configured for it. */
  capture?: CaptureService | undefined;
  /** The gRPC listener, when one was asked for (ServerOptions.grpc). */
  grpc?: { readonly port: number };
}

declare module 'fastify' {
  interface FastifyInstance {
    yolo: ServerContext;
  }
}

/**
 * An AbortSignal that fires when the client goes away before its response is written, so its queued
 * work is dropped.
 */
export function clientSignal(request: FastifyRequest, reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new Error('client closed the connection'));
  });
  // (request.raw.destroyed is no signal: the request stream is destroyed once its body is read.)
  if (request.raw.socket?.destroyed === true) controller.abort(new Error('client closed the connection'));
  return controller.signal;
}

/** When the request arrived, on the performance.now() clock. */
export function requestStart(reply: FastifyReply): number {
  return performance.now() - reply.elapsedTime;
}

/** Server-Timing header: visible in browser devtools and read by the demo page. */
export function serverTiming(outcome: InferOutcome): string {
  const sum = (k: 'preprocess' | 'inference' | 'postprocess') =>
    outcome.results.reduce((a, r) => a + r.speed[k], 0).toFixed(2);
  return [
    `queue;dur=${outcome.queueMs.toFixed(2)}`,
    `preprocess;dur=${sum('preprocess')}`,
    `inference;dur=${sum('inference')}`,
    `postprocess;dur=${sum('postprocess')}`,
    `total;dur=${outcome.requestMs.toFixed(2)}`,
  ].join(', ');
}

/** Snake_case request parameters (query string or KServe parameters) to detector options. */
export function toRequestParams(p: {
  conf?: number | undefined;
  iou?: number | undefined;
  max_det?: number | undefined;
  classes?: number[] | string | undefined;
  agnostic?: boolean | undefined;
}): RequestParams {
  const out: RequestParams = {};
  if (p.conf !== undefined) out.conf = p.conf;
  if (p.iou !== undefined) out.iou = p.iou;
  if (p.max_det !== undefined) out.maxDet = p.max_det;
  if (p.agnostic !== undefined) out.agnostic = p.agnostic;
  if (p.classes !== undefined) {
    out.classes = typeof p.classes === 'string' ? p.classes.split(',').map(Number) : p.classes;
  }
  return out;
}
