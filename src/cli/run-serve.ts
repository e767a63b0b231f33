import { createServer, type ServedModelSpec } from '../server/app.js';
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

  try {
    await app.listen({ port, host });
  } catch (err) {
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
  ctx.stderr.write(
    `yolo-trt serving ${app.yolo.registry.names().join(', ') || '(no models yet)'} on ${app.listeningOrigin}\n`,
  );
  return closed;
}
