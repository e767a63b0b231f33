import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { startGrpcServer, type GrpcServerHandle } from './grpc/server.js';
import { createCore, loadModels, mountRoutes, type CoreOptions } from './mount.js';

export interface YoloTrtPluginOptions extends CoreOptions {
  /**
   * Where the routes are mounted in the host app ('/yolo' -> '/yolo/v2/models/{m}/infer', ...).
   * Default '' (the host's root).
   */
  prefix?: string;
  /**
   * The host's prom-client registry: our metrics are registered in it, so the host's own /metrics
   * serves both (ours under the prefix too). Default: a registry of our own.
   */
  metricsRegistry?: Registry;
}

/**
 * Mounts yolo-trt inside an existing Fastify app (called by the `yoloTrtPlugin` export): the same
 * routes, models and metrics as `createServer`, under `prefix`, with their parsers, auth and error
 * replies kept inside their own scope (the host's routes are untouched). Models load while the plugin
 * registers (the host's `ready()` waits for them); the host's `close()` drains and disposes them.
 * `fastify.yolo` is the context, as on the standalone server.
 */
export async function mountYoloTrt(host: FastifyInstance, options: YoloTrtPluginOptions): Promise<void> {
  const prefix = (options.prefix ?? '').replace(/\/+$/, '');
  // Process metrics are the host's business unless asked: a host registry usually has them already.
  const core = await createCore(
    { ...options, processMetrics: options.processMetrics ?? false },
    host.log,
    options.metricsRegistry,
  );
  const { ctx } = core;
  host.decorate('yolo', ctx);
  await host.register(
    async (scope) => {
      // The body limit of our routes, whatever the host's is.
      scope.addHook('onRoute', (route) => {
        route.bodyLimit ??= ctx.limits.bodyLimit;
      });
      await mountRoutes(scope, ctx, { ...options, prefix });
      if (prefix !== '') {
        scope.setNotFoundHandler(async (request, reply) =>
          reply.code(404).send({
            error: `no route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`,
            code: 'ERR_NOT_FOUND',
          }),
        );
      }
    },
    { prefix },
  );

  let grpc: GrpcServerHandle | undefined;
  let grpcClosed: Promise<void> | undefined;
  host.addHook('preClose', async () => {
    ctx.shuttingDown = true;
    grpcClosed = grpc?.shutdown();
  });
  host.addHook('onClose', async () => {
    ctx.shuttingDown = true;
    await (grpcClosed ?? grpc?.shutdown());
    await ctx.registry.close();
    await ctx.capture?.flush();
  });
  try {
    await loadModels(core, options);
    if (options.grpc !== undefined) {
      grpc = await startGrpcServer(ctx, { ...options.grpc, token: options.token, log: host.log });
      ctx.grpc = { port: grpc.port };
    }
  } catch (err) {
    await ctx.registry.close().catch(() => undefined);
    throw err;
  }
}
