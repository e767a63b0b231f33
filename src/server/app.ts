import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import compress from '@fastify/compress';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { Detector } from '../detector.js';
import { installBearerAuth } from './auth.js';
import type { ServerContext, ServerLimits } from './context.js';
import { HttpError, toErrorReply } from './http-errors.js';
import { ServerMetrics } from './metrics.js';
import { startGrpcServer, type GrpcServerHandle, type GrpcServerOptions } from './grpc/server.js';
import type { ModelConfig } from './model-config.js';
import { ModelRegistry } from './model-registry.js';
import { ModelRepository } from './model-repository.js';
import { registerDetectRoutes } from './routes/detect.js';
import { registerKserveRoutes } from './routes/kserve.js';
import { registerMiscRoutes } from './routes/misc.js';
import { registerModelInfoRoutes } from './routes/model-info.js';
import { registerRepositoryRoutes } from './routes/repository.js';
import type { DetectorFactory } from './served-detector.js';

export interface ServedModelSpec {
  name: string;
  /** Path of the ONNX file (any path: the operator chose it). */
  path: string;
  config?: ModelConfig;
}

export interface ServerOptions {
  /** Models from explicit files (--model NAME=PATH), version 1 each. */
  models?: ServedModelSpec[];
  /** A Triton-style repository; every model in it loads at start, and load/unload work on it. */
  modelRepository?: string;
  /** Config under every model's own (backend, thresholds, cpu, batching...). */
  defaults?: ModelConfig;
  /** Bearer token required on every route but health probes and the demo page. */
  token?: string;
  limits?: Partial<ServerLimits>;
  /** Fastify/pino logger options; default: no logging. */
  logger?: FastifyServerOptions['logger'];
  /** Serve the demo page at `/` (default true). */
  demoPage?: boolean;
  /** Process metrics (CPU, memory, event loop lag) in /metrics (default true). */
  processMetrics?: boolean;
  /**
   * Also serve KServe v2 over gRPC on this port (0 = any free one: read `app.yolo.grpc.port`). Off
   * unless given; started once the models are loaded, stopped by `app.close()`.
   */
  grpc?: GrpcServerOptions;
  /** How detectors are made (default: Detector.create). Tests inject fakes. */
  detectorFactory?: DetectorFactory;
}

export const DEFAULT_LIMITS: Readonly<ServerLimits> = {
  bodyLimit: 32 * 1024 * 1024,
  maxInputPixels: 8192 * 8192,
  maxImagesPerRequest: 64,
};

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

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Builds the server (KServe v2 + detect + repository + metrics + demo page) and loads its models; it
 * does not listen. Call `app.listen({ port, host })`, or `app.inject()` in tests. `app.close()` stops
 * accepting, lets running requests finish, then disposes every model.
 */
export async function createServer(options: ServerOptions = {}): Promise<FastifyInstance> {
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const metrics = new ServerMetrics({ processMetrics: options.processMetrics });
  const gpu = await metrics.enableGpuMetrics(); // nv_gpu_* gauges only where a GPU is found
  const repository =
    options.modelRepository === undefined ? undefined : await ModelRepository.open(options.modelRepository);

  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: limits.bodyLimit,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
    // Requests arriving during shutdown get our own 503 (same JSON shape as every error) below.
    return503OnClosing: false,
  });
  app.log.info({ source: gpu.source, gpus: gpu.devices.length, reason: gpu.reason }, 'GPU metrics');

  const registry = new ModelRegistry({
    factory: options.detectorFactory ?? ((o) => Detector.create(o)),
    metrics,
    repository,
    defaults: options.defaults,
    limitInputPixels: limits.maxInputPixels,
    log: app.log,
  });
  metrics.setPendingSource(function* pending() {
    for (const i of registry.instances()) yield { model: i.name, version: i.version, pending: i.pending };
  });

  const ctx: ServerContext = {
    registry,
    metrics,
    limits,
    packageVersion: packageVersion(),
    shuttingDown: false,
  };
  app.decorate('yolo', ctx);

  // Bodies: JSON (fastify's), images and octet-stream as bytes, multipart streamed by the detect route.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(/^image\/[a-z0-9.+-]+$/i, { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  );
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  );
  // Responses compressed when the client asks (Accept-Encoding), as Triton does; request bodies are
  // not this plugin's business here.
  await app.register(compress, { globalCompression: true, globalDecompression: false });
  await app.register(multipart, {
    limits: { fileSize: limits.bodyLimit, files: limits.maxImagesPerRequest },
  });

  // Requests being handled; shutdown waits for them, then drops the connections left (idle keep-alive
  // ones, and opened ones with no request yet, which server.close() alone would wait on for minutes).
  let handling = 0;
  app.addHook('onRequest', async (request, reply) => {
    handling++;
    reply.raw.once('close', () => handling--);
    reply.header('x-request-id', request.id);
    if (ctx.shuttingDown && !request.url.startsWith('/v2/health/')) {
      reply.header('connection', 'close');
      throw new HttpError(503, 'ERR_SHUTTING_DOWN', 'the server is shutting down', { retryAfter: 1 });
    }
  });
  installBearerAuth(app, options.token);
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpRequest(
      request.method,
      request.routeOptions.url ?? 'unmatched',
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
  });

  app.setErrorHandler(async (err, request, reply) => {
    const r = toErrorReply(err);
    if (r.statusCode >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: r.body.code, status: r.statusCode }, r.body.error);
    if (r.retryAfter !== undefined) reply.header('retry-after', String(r.retryAfter));
    if (r.statusCode === 401) reply.header('www-authenticate', 'Bearer');
    return reply.code(r.statusCode).type('application/json; charset=utf-8').send(r.body);
  });
  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send({
      error: `no route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`,
      code: 'ERR_NOT_FOUND',
    }),
  );

  registerKserveRoutes(app, ctx);
  registerDetectRoutes(app, ctx);
  registerModelInfoRoutes(app, ctx);
  registerRepositoryRoutes(app, ctx);
  registerMiscRoutes(app, ctx, { demoPage: options.demoPage !== false });

  let grpc: GrpcServerHandle | undefined;
  let grpcClosed: Promise<void> | undefined;
  app.addHook('preClose', async () => {
    ctx.shuttingDown = true;
    grpcClosed = grpc?.shutdown(); // refuses new calls at once; running ones finish
    const server = app.server;
    if (!server.listening) return;
    const reaper = setInterval(() => {
      if (handling === 0) server.closeAllConnections();
    }, 50);
    reaper.unref();
    server.once('close', () => clearInterval(reaper));
  });
  // Runs after the HTTP server stopped and running requests finished: drain and dispose the models.
  app.addHook('onClose', async () => {
    await grpcClosed;
    await registry.close();
  });

  try {
    for (const m of options.models ?? []) registry.addFile(m.name, m.path, m.config);
    const names = new Set(registry.names());
    if (repository !== undefined) for (const n of await repository.list()) names.add(n);
    // Sequential: loads compete for the same cores, and an error names the model that failed.
    for (const name of [...names].sort()) await registry.load(name);
    await app.ready();
    if (options.grpc !== undefined) {
      grpc = await startGrpcServer(ctx, { ...options.grpc, token: options.token, log: app.log });
      ctx.grpc = { port: grpc.port };
    }
  } catch (err) {
    await registry.close().catch(() => undefined);
    throw err;
  }
  return app;
}
