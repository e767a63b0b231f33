import compress from '@fastify/compress';
import multipart from '@fastify/multipart';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { Detector } from '../detector.js';
import { invalidOption } from '../errors.js';
import { installBearerAuth } from './auth.js';
import { CandidateService } from './candidate-service.js';
import { CaptureService, type ServerCaptureOptions } from './capture-service.js';
import type { ServerContext, ServerLimits } from './context.js';
import { DriftService, combineObservers, type ServerDriftOptions } from './drift-service.js';
import type { GrpcServerOptions } from './grpc/server.js';
import { HttpError, toErrorReply } from './http-errors.js';
import { ServerMetrics } from './metrics.js';
import type { ModelConfig } from './model-config.js';
import { ModelRegistry } from './model-registry.js';
import { ModelRepository } from './model-repository.js';
import { installRequestDecoding } from './request-encoding.js';
import { registerCandidateRoutes } from './routes/candidate.js';
import { registerDetectRoutes } from './routes/detect.js';
import { registerDriftRoutes } from './routes/drift.js';
import { registerKserveRoutes } from './routes/kserve.js';
import { registerMiscRoutes } from './routes/misc.js';
import { registerModelInfoRoutes } from './routes/model-info.js';
import { registerRepositoryRoutes } from './routes/repository.js';
import type { DetectorFactory } from './served-detector.js';
import { readFileSync } from 'node:fs';

/**
 * What the standalone server (app.ts) and the embeddable plugin (plugin.ts) share: the models and
 * metrics behind the routes (`createCore`), the routes with their body parsers, auth, metrics and error
 * replies mounted on a Fastify scope (`mountRoutes`), and the initial model loads (`loadModels`).
 */

export interface ServedModelSpec {
  name: string;
  /** Path of the ONNX file (any path: the operator chose it). */
  path: string;
  config?: ModelConfig;
}

/** Everything that is the same whether the routes run in their own server or inside a host app. */
export interface CoreOptions {
  /** Models from explicit files (--model NAME=PATH), version 1 each. */
  models?: ServedModelSpec[];
  /** A Triton-style repository; every model in it loads at start, and load/unload work on it. */
  modelRepository?: string;
  /** Config under every model's own (backend, thresholds, cpu, batching...). */
  defaults?: ModelConfig;
  /** Bearer token required on every route but health probes and the demo page (and gRPC alike). */
  token?: string;
  limits?: Partial<ServerLimits>;
  /** Serve the demo page at `/` (default true). */
  demoPage?: boolean;
  /** Process metrics (CPU, memory, event loop lag) in /metrics (default true standalone). */
  processMetrics?: boolean;
  /** Also serve KServe v2 over gRPC on this port (0 = any free one: read `yolo.grpc.port`). */
  grpc?: GrpcServerOptions;
  /** Drift monitoring: reference profiles per model (--drift-reference) and window settings. */
  drift?: ServerDriftOptions;
  /** Capture for retraining: per model, a dataset directory and sampling policies. */
  capture?: ServerCaptureOptions;
  /** How detectors are made (default: Detector.create). Tests inject fakes. */
  detectorFactory?: DetectorFactory;
}

export const DEFAULT_LIMITS: Readonly<ServerLimits> = {
  bodyLimit: 32 * 1024 * 1024,
  maxInputPixels: 8192 * 8192,
  maxImagesPerRequest: 64,
  requestTimeoutMs: 60_000,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 120_000,
  maxRequestsPerSocket: 0,
  maxConnections: 1024,
};

/** Timeouts must be whole ms, headers within the request's; anything else is an option error. */
export function checkLimits(limits: ServerLimits): ServerLimits {
  for (const [k, v] of Object.entries(limits)) {
    const zeroOk = ![
      'bodyLimit',
      'maxInputPixels',
      'maxImagesPerRequest',
      'maxConnections',
      'headersTimeoutMs',
    ].includes(k);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < (zeroOk ? 0 : 1)) {
      throw invalidOption(`limits.${k}`, zeroOk ? 'an integer >= 0' : 'a positive integer', v);
    }
  }
  if (limits.requestTimeoutMs > 0 && limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw invalidOption(
      'limits.headersTimeoutMs',
      `at most requestTimeoutMs (${limits.requestTimeoutMs})`,
      limits.headersTimeoutMs,
    );
  }
  return limits;
}

function packageVersion(): string {
  try {
    // src/server/ and dist/server/ are both two levels below the package root.
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export interface Core {
  ctx: ServerContext;
  repository: ModelRepository | undefined;
}

/** Metrics (in `registry` when given), GPU gauges, the repository and the model registry. */
export async function createCore(
  options: CoreOptions,
  log: FastifyBaseLogger,
  registry?: Registry,
): Promise<Core> {
  const limits: ServerLimits = checkLimits({ ...DEFAULT_LIMITS, ...options.limits });
  const metrics = new ServerMetrics({ processMetrics: options.processMetrics, registry });
  const gpu = await metrics.enableGpuMetrics(); // nv_gpu_* gauges only where a GPU is found
  log.info({ source: gpu.source, gpus: gpu.devices.length, reason: gpu.reason }, 'GPU metrics');
  const repository =
    options.modelRepository === undefined ? undefined : await ModelRepository.open(options.modelRepository);
  const drift =
    options.drift === undefined
      ? undefined
      : await DriftService.create(
          options.drift,
          new Map((options.models ?? []).map((m) => [m.name, m.path])),
          metrics,
        );
  const capture =
    options.capture === undefined
      ? undefined
      : new CaptureService(options.capture, metrics, (model) => drift?.lastAlert(model) ?? false);
  const models = new ModelRegistry({
    observerFor: (model) => combineObservers(drift?.observerFor(model), capture?.observerFor(model)),
    factory: options.detectorFactory ?? ((o) => Detector.create(o)),
    metrics,
    repository,
    defaults: options.defaults,
    limitInputPixels: limits.maxInputPixels,
    log,
  });
  metrics.setPendingSource(function* pending() {
    for (const i of models.instances()) yield { model: i.name, version: i.version, pending: i.pending };
  });
  const ctx: ServerContext = {
    registry: models,
    candidates: new CandidateService(models, metrics, log),
    metrics,
    limits,
    packageVersion: packageVersion(),
    shuttingDown: false,
    drift,
    capture,
  };
  return { ctx, repository };
}

/**
 * Mounts every route on `scope` with what they need in that scope: body parsers (JSON, images,
 * octet-stream, multipart), response compression, the shutdown refusal, the bearer token, HTTP
 * metrics and our JSON error replies. `prefix` is where the scope is mounted ('' standalone).
 */
export async function mountRoutes(
  scope: FastifyInstance,
  ctx: ServerContext,
  options: CoreOptions & { prefix: string },
): Promise<void> {
  // Bodies: JSON (fastify's), images and octet-stream as bytes, multipart streamed by the detect route.
  scope.removeContentTypeParser('text/plain');
  scope.addContentTypeParser(/^image\/[a-z0-9.+-]+$/i, { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  );
  scope.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  );
  // Content-Encoding: gzip/deflate request bodies decompressed within the body limit, other codings
  // refused (request-encoding.ts).
  installRequestDecoding(scope, ctx.limits.bodyLimit);
  // Responses compressed when the client asks (Accept-Encoding), as Triton does; request bodies are
  // not this plugin's business here.
  await scope.register(compress, { globalCompression: true, globalDecompression: false });
  await scope.register(multipart, {
    limits: { fileSize: ctx.limits.bodyLimit, files: ctx.limits.maxImagesPerRequest },
  });

  const health = `${options.prefix}/v2/health/`;
  scope.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (ctx.shuttingDown && !request.url.startsWith(health)) {
      reply.header('connection', 'close');
      throw new HttpError(503, 'ERR_SHUTTING_DOWN', 'the server is shutting down', { retryAfter: 1 });
    }
  });
  installBearerAuth(scope, options.token);
  scope.addHook('onResponse', async (request, reply) => {
    ctx.metrics.httpRequest(
      request.method,
      request.routeOptions.url ?? 'unmatched',
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
  });

  scope.setErrorHandler(async (err, request, reply) => {
    const r = toErrorReply(err);
    // A full queue is summarized by the overload log (one line per second per model), and other 503s
    // (loading, shutting down) are the server saying "later", not failing: only real 5xx are errors.
    if (r.body.code === 'ERR_QUEUE_FULL') request.log.debug({ code: r.body.code }, r.body.error);
    else if (r.statusCode >= 500 && r.statusCode !== 503) request.log.error({ err }, 'request failed');
    else request.log.info({ code: r.body.code, status: r.statusCode }, r.body.error);
    if (r.retryAfter !== undefined) reply.header('retry-after', String(r.retryAfter));
    if (r.statusCode === 401) reply.header('www-authenticate', 'Bearer');
    return reply.code(r.statusCode).type('application/json; charset=utf-8').send(r.body);
  });

  registerKserveRoutes(scope, ctx);
  registerDetectRoutes(scope, ctx);
  registerModelInfoRoutes(scope, ctx);
  registerRepositoryRoutes(scope, ctx);
  registerDriftRoutes(scope, ctx);
  registerCandidateRoutes(scope, ctx);
  registerMiscRoutes(scope, ctx, { demoPage: options.demoPage !== false, base: options.prefix });
}

/** Registers the file models and loads every model (files and repository), one after another. */
export async function loadModels(core: Core, options: CoreOptions): Promise<void> {
  const registry = core.ctx.registry;
  for (const m of options.models ?? []) registry.addFile(m.name, m.path, m.config);
  const names = new Set(registry.names());
  if (core.repository !== undefined) for (const n of await core.repository.list()) names.add(n);
  // Sequential: loads compete for the same cores, and an error names the model that failed.
  for (const name of [...names].sort()) await registry.load(name);
  const capture = core.ctx.capture;
  if (capture !== undefined) {
    for (const inst of registry.instances()) await capture.open(inst.name, inst.detector.model.names);
  }
}
