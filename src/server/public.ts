import type { FastifyInstance } from 'fastify';
import type { ServerOptions } from './app.js';

export type { ServerOptions, ServedModelSpec } from './app.js';
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
