import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { ServerLimits } from './context.js';
import { installExpectContinue } from './expect-continue.js';
import { answerClientError, answerFrameworkError } from './framework-errors.js';
import { startGrpcServer, type GrpcServerHandle } from './grpc/server.js';
import {
  DEFAULT_LIMITS,
  checkLimits,
  createCore,
  loadModels,
  mountRoutes,
  type CoreOptions,
} from './mount.js';

export { DEFAULT_LIMITS, type ServedModelSpec } from './mount.js';

export interface ServerOptions extends CoreOptions {
  /** Fastify/pino logger options; default: no logging. */
  logger?: FastifyServerOptions['logger'];
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** How often Node looks for requests past their headers/request timeout, ms. */
function checkingInterval(limits: ServerLimits): number {
  const shortest = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs || Infinity);
  return Math.max(10, Math.min(1000, Math.floor(shortest / 4)));
}

/**
 * Builds the server (KServe v2 + detect + repository + metrics + demo page) and loads its models; it
 * does not listen. Call `app.listen({ port, host })`, or `app.inject()` in tests. `app.close()` stops
 * accepting, lets running requests finish, then disposes every model. With `grpc`, KServe v2 over gRPC
 * starts too (its port in `app.yolo.grpc.port`) and stops with `app.close()`.
 */
export async function createServer(options: ServerOptions = {}): Promise<FastifyInstance> {
  const limits = checkLimits({ ...DEFAULT_LIMITS, ...options.limits });
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: limits.bodyLimit,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
    // Requests arriving during shutdown get our own 503 (same JSON shape as every error).
    return503OnClosing: false,
    // Slow clients are cut off: headers, then the whole request, must arrive in time (Node checks
    // these every connectionsCheckingInterval, so that is a fraction of the shortest of them).
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    maxRequestsPerSocket: limits.maxRequestsPerSocket,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: checkingInterval(limits),
    },
    // Router and HTTP-parser errors in our {error, code} shape too.
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
  });
  app.server.maxConnections = limits.maxConnections;
  const core = await createCore(options, app.log);
  const { ctx } = core;
  app.decorate('yolo', ctx);

  // Requests being handled; shutdown waits for them, then drops the connections left (idle keep-alive
  // ones, and opened ones with no request yet, which server.close() alone would wait on for minutes).
  let handling = 0;
  app.addHook('onRequest', async (_request, reply) => {
    handling++;
    reply.raw.once('close', () => handling--);
  });
  installExpectContinue(app);
  await mountRoutes(app, ctx, { ...options, prefix: '' });
  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send({
      error: `no route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`,
      code: 'ERR_NOT_FOUND',
    }),
  );

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
    await ctx.registry.close();
    await ctx.capture?.flush();
  });

  try {
    await loadModels(core, options);
    await app.ready();
    if (options.grpc !== undefined) {
      grpc = await startGrpcServer(ctx, { ...options.grpc, token: options.token, log: app.log });
      ctx.grpc = { port: grpc.port };
    }
  } catch (err) {
    await ctx.registry.close().catch(() => undefined);
    throw err;
  }
  return app;
}
