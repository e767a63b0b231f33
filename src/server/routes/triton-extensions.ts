import type { FastifyInstance, FastifyRequest } from 'fastify';
import { badRequest } from '../http-errors.js';
import { readLogSettings, updateLogSettings } from '../kserve/log-settings.js';
import { errorResponses, modelParams } from '../kserve/schemas.js';
import { readUntypedBodiesAsJson } from './json-body.js';

/**
 * Triton's side extensions: logging (served: it really changes the log level), tracing and shared
 * memory (not served: clear 400s, and absent from `extensions`, so clients that check it know).
 */
export function registerTritonExtensionRoutes(root: FastifyInstance): void {
  void root.register(async (app) => {
    readUntypedBodiesAsJson(app);
    const settings = {
      type: 'object',
      properties: {
        log_file: { type: 'string' },
        log_info: { type: 'boolean' },
        log_warning: { type: 'boolean' },
        log_error: { type: 'boolean' },
        log_verbose_level: { type: 'integer' },
        log_format: { type: 'string' },
      },
    } as const;
    const options = { schema: { response: { 200: settings, ...errorResponses } } };
    app.get('/v2/logging', options, async () => readLogSettings(app.log));
    app.post<{ Body: Record<string, unknown> | undefined }>(
      '/v2/logging',
      options,
      async (request: FastifyRequest<{ Body: Record<string, unknown> | undefined }>) => {
        const body = request.body;
        if (body === undefined || body === null) return readLogSettings(app.log);
        if (typeof body !== 'object' || Array.isArray(body)) {
          throw badRequest('Expected a JSON object of logging settings');
        }
        const now = updateLogSettings(app.log, body);
        app.log.info({ level: app.log.level }, 'log settings changed');
        return now;
      },
    );

    const noTrace = async () => {
      throw badRequest(
        'tracing is not supported by this server (trace settings cannot be read or changed); see /metrics and Server-Timing for per-request times',
      );
    };
    app.get('/v2/trace/setting', noTrace);
    app.post('/v2/trace/setting', noTrace);
    const modelTrace = { schema: { params: modelParams } };
    app.get('/v2/models/:model/trace/setting', modelTrace, noTrace);
    app.post('/v2/models/:model/trace/setting', modelTrace, noTrace);

    const noSharedMemory = async () => {
      throw badRequest(
        'shared memory is not supported by this server: send tensors in the request (binary tensor extension or gRPC raw contents)',
      );
    };
    for (const kind of ['systemsharedmemory', 'cudasharedmemory']) {
      app.get(`/v2/${kind}/status`, noSharedMemory);
      app.get(`/v2/${kind}/region/:region/status`, noSharedMemory);
      app.post(`/v2/${kind}/region/:region/register`, noSharedMemory);
      app.post(`/v2/${kind}/unregister`, noSharedMemory);
      app.post(`/v2/${kind}/region/:region/unregister`, noSharedMemory);
    }
  });
}
