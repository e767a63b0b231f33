import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import type { ServerOptions } from './app.js';
import type { YoloTrtPluginOptions } from './plugin.js';

export type { ServerOptions, ServedModelSpec } from './app.js';
export type { YoloTrtPluginOptions } from './plugin.js';
export type { GrpcServerOptions } from './grpc/server.js';
export type { ServerLimits, ServerContext } from './context.js';
export type { ModelConfig, VersionPolicy } from './model-config.js';
export type { BatchingConfig } from './model-instance.js';
export type { ServedDetector, DetectorFactory } from './served-detector.js';

/**
 * Builds the HTTP server (KServe v2, detect route, repository, metrics, demo page) and loads its models,
 * without listening. Loaded on first call, so `import 'yolo-trt'` does not pull in fastify.
 */
export async function createServer(options?: ServerOptions): Promise<FastifyInstance> {
  const { createServer: create } = await import('./app.js');
  return create(options);
}

/**
 * yolo-trt as a Fastify plugin, for services that already run Fastify (no second port):
 *
 *   await app.register(yoloTrtPlugin, { prefix: '/yolo', models: [{ name: 'yolo11n', path: 'yolo11n.onnx' }],
 *                                       metricsRegistry: register });
 *
 * The same routes as `createServer` under `prefix`, kept in their own scope; `app.yolo` is their
 * context; the host's close() drains and disposes the models. fastify-plugin makes `app.yolo` visible
 * to the host and checks the Fastify major version.
 */
export const yoloTrtPlugin: FastifyPluginAsync<YoloTrtPluginOptions> = fp(
  async (host: FastifyInstance, options: YoloTrtPluginOptions) => {
    const { mountYoloTrt } = await import('./plugin.js');
    await mountYoloTrt(host, options);
  },
  { name: 'yolo-trt', fastify: '5.x' },
);
