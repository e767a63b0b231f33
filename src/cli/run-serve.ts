import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer, type ServedModelSpec } from '../server/app.js';
import type { ServerMetrics } from '../server/metrics.js';
import { HttpError } from '../server/http-errors.js';
import { readServeConfig, type ServeFileConfig } from '../server/server-config.js';
import type { BackendRequest } from '../options.js';
import { CliUsageError, EXIT_FAILURE, EXIT_OK, type CliContext } from './command.js';
import type { ServeOptions } from './serve.js';

/**
 * Runs the server until SIGTERM/SIGINT. Shutdown is graceful: the listener closes (no new
 * connections; requests on kept-alive ones get 503), running requests finish, then every model
 * drains and is disposed. A second signal, or shutdown taking longer than 30 s, exits at once.
 */
export async function runServe(options: ServeOptions, ctx: CliContext): Promise<number> {
  const file: ServeFileConfig =
    options.config === undefined ? { models: [] } : await readServeConfig(options.config);
  const models: ServedModelSpec[] = [...file.models];
  for (const m of options.model ?? []) {
    const i = models.findIndex((x) => x.name === m.name);
    if (i >= 0) models[i] = { ...models[i]!, path: m.path };
    else models.push(m);
  }
  const modelRepository = options.modelRepository ?? file.modelRepository;
  if (models.length === 0 && modelRepository === undefined) {
    throw new CliUsageError(
      'nothing to serve: give --model NAME=PATH (repeatable) and/or --model-repository DIR',
    );
  }
  const backend = options.backend ?? file.defaults?.backend;
  if (backend !== undefined && !['auto', 'cpu', 'tensorrt'].includes(backend)) {
    throw new CliUsageError(`--backend: expected auto, cpu or tensorrt but received '${backend}'`);
  }
  const logLevel = options.logLevel ?? file.logLevel ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new CliUsageError(
      `--log-level: expected fatal, error, warn, info, debug, trace or silent but received '${logLevel}'`,
    );
  }
  const port = options.port ?? file.port ?? 8000;
  const host = options.host ?? file.host ?? '127.0.0.1';
  const token = options.token ?? process.env['YOLO_TRT_TOKEN'] ?? file.token;
  const references = { ...file.drift?.references };
  for (const r of options.driftReference ?? []) references[r.name] = r.path;
  const capture = { ...file.capture };
  for (const c of options.capture ?? []) {
    capture[c.name] = {
      ...capture[c.name],
      dir: c.path,
      ...(options.captureRate === undefined ? {} : { rate: options.captureRate }),
      ...(options.captureLowConfidence === undefined ? {} : { lowConfidence: options.captureLowConfidence }),
      ...(options.captureDrift === true ? { driftAlert: true } : {}),
    };
  }
  const drift =
    Object.keys(references).length === 0
      ? undefined
      : {
          ...file.drift,
          references,
          ...(options.driftWindow === undefined ? {} : { window: options.driftWindow }),
          ...(options.driftWindowMs === undefined ? {} : { windowMs: options.driftWindowMs }),
          ...(options.driftMinWindow === undefined ? {} : { minWindow: options.driftMinWindow }),
        };
  const grpc = options.grpc === false ? undefined : { port: options.grpcPort ?? 8001, host };

  let app: Awaited<ReturnType<typeof createServer>>;
  try {
    app = await createServer({
      models,
      modelRepository,
      defaults: {
        ...file.defaults,
        ...(backend === undefined ? {} : { backend: backend as BackendRequest }),
      },
      limits: file.limits,
      token: token === '' ? undefined : token,
      logger: { level: logLevel },
      demoPage: options.demoPage !== false && file.demoPage !== false,
      ...(drift === undefined ? {} : { drift }),
      ...(Object.keys(capture).length === 0 ? {} : { capture }),
      grpc,
    });
  } catch (err) {
    // Repository problems found at start (a path outside it, a model without versions) are HttpErrors.
    if (err instanceof HttpError) {
      ctx.stderr.write(`error [${err.code}]: ${err.message}\n`);
      return EXIT_FAILURE;
    }
    throw err;
  }

  let closing: Promise<void> | null = null;
  const closed = new Promise<number>((resolve) => {
    const shutdown = (signal: NodeJS.Signals) => {
      if (closing !== null) {
        app.log.warn({ signal }, 'second signal: exiting without draining');
        process.exit(EXIT_FAILURE);
      }
      app.log.info({ signal }, 'shutting down: draining running requests');
      const watchdog = setTimeout(() => {
        app.log.error('shutdown took longer than 30 s: exiting');
        process.exit(EXIT_FAILURE);
      }, 30_000);
      watchdog.unref();
      metricsServer?.close();
      metricsServer?.closeAllConnections();
      closing = app.close().then(
        () => {
          app.log.info('shut down cleanly');
          resolve(EXIT_OK);
        },
        (err: unknown) => {
          app.log.error({ err }, 'shutdown failed');
          resolve(EXIT_FAILURE);
        },
      );
    };
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
  });

  let metricsOrigin = '';
  let metricsServer: HttpServer | undefined;
  try {
    await app.listen({ port, host });
    if (options.metricsPort !== undefined) {
      metricsServer = await listenMetrics(app.yolo.metrics, options.metricsPort, host);
      const a = metricsServer.address() as AddressInfo;
      metricsOrigin = `, metrics on http://${host.includes(':') ? `[${host}]` : host}:${a.port}/metrics`;
    }
  } catch (err) {
    metricsServer?.close();
    await app.close();
    throw err;
  }
  if (token === undefined || token === '') {
    if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
      app.log.warn(
        { host },
        'listening beyond loopback without a token: anyone who can reach it can load/unload models',
      );
    }
  }
  const grpcOrigin = app.yolo.grpc === undefined ? '' : `, gRPC on ${host}:${app.yolo.grpc.port}`;
  ctx.stderr.write(
    `yolo-trt serving ${app.yolo.registry.names().join(', ') || '(no models yet)'} on ${app.listeningOrigin}${grpcOrigin}${metricsOrigin}\n`,
  );
  return closed;
}

/**
 * `--metrics-port`: GET /metrics alone on its own port, as Triton's metrics port (8002), for scrapers
 * kept apart from the API. No token: it only exposes metrics.
 */
async function listenMetrics(metrics: ServerMetrics, port: number, host: string) {
  const server = createHttpServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ error: 'only GET /metrics is served on this port', code: 'ERR_NOT_FOUND' }));
      return;
    }
    metrics.render().then(
      (text) => {
        res.writeHead(200, { 'content-type': metrics.contentType });
        res.end(text);
      },
      () => {
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ error: 'metrics failed (see the server log)', code: 'ERR_INTERNAL' }));
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
