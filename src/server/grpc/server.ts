import {
  Server,
  ServerCredentials,
  status,
  type Metadata,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type UntypedServiceImplementation,
  type sendUnaryData,
} from '@grpc/grpc-js';
import type { FastifyBaseLogger } from 'fastify';
import { bearerCheck } from '../auth.js';
import type { ServerContext } from '../context.js';
import { HttpError } from '../http-errors.js';
import { describeConfig } from '../kserve/model-config-json.js';
import { parseLoadConfig } from '../kserve/load-config.js';
import { readLogSettings, updateLogSettings, type LogSettings } from '../kserve/log-settings.js';
import { modelMetadata, modelReady, modelStatistics, serverMetadata } from '../kserve/service.js';
import { toProtoConfig } from './config.js';
import { grpcInfer } from './infer.js';
import {
  parameterValue,
  type LogSettingValue,
  type ModelInferRequest,
  type NameVersionRequest,
  type RepositoryModelRequest,
} from './messages.js';
import { serviceDefinition } from './proto.js';
import { toGrpcError } from './status.js';

/**
 * KServe v2 over gRPC (`inference.GRPCInferenceService`), beside the HTTP server and on the same
 * models: the same registry (batcher, limits, swaps), statistics and metrics, the same bearer token
 * (`authorization: Bearer <token>` metadata; the health RPCs stay open like the HTTP probes), the same
 * error texts with gRPC status codes (status.ts).
 */

export interface GrpcServerOptions {
  /** 0 = any free port (read it back from the handle). */
  port: number;
  /** Default 127.0.0.1, like the HTTP server. */
  host?: string;
}

export interface GrpcServerHandle {
  /** The port it listens on. */
  readonly port: number;
  /**
   * Stops taking calls and waits for the running ones (streams included) to finish; after
   * `graceMs` the rest are cancelled.
   */
  shutdown(graceMs?: number): Promise<void>;
}

/** Streamed requests one stream may have in flight before it stops reading more (flow control). */
const STREAM_WINDOW = 32;

export async function startGrpcServer(
  ctx: ServerContext,
  options: GrpcServerOptions & { token: string | undefined; log: FastifyBaseLogger },
): Promise<GrpcServerHandle> {
  // The server's own logger (not a child: /v2/logging and LogSettings change its level at run time).
  const log = options.log;
  const check = bearerCheck(options.token);
  const server = new Server({
    // Larger messages are refused by grpc-js with RESOURCE_EXHAUSTED, like a body over the HTTP limit.
    'grpc.max_receive_message_length': ctx.limits.bodyLimit,
    'grpc.max_send_message_length': -1,
  });

  /** Refusal before any work: shutdown, then the token (health RPCs skip both checks' second). */
  const admit = (metadata: Metadata, isPublic: boolean): void => {
    if (ctx.shuttingDown && !isPublic) {
      throw new HttpError(503, 'ERR_SHUTTING_DOWN', 'the server is shutting down', { retryAfter: 1 });
    }
    if (check !== undefined && !isPublic) {
      const header = metadata.get('authorization')[0];
      const refusal = check(typeof header === 'string' ? header : undefined);
      if (refusal !== undefined) throw refusal;
    }
  };

  const fail = (method: string, err: unknown) => {
    const g = toGrpcError(err);
    if (g.httpStatus >= 500) log.error({ err, method, transport: 'grpc' }, 'gRPC call failed');
    else
      log.info({ method, code: g.code, grpcStatus: g.error.code, transport: 'grpc' }, g.error.details ?? '');
    return g.error;
  };

  function unary<Req, Res>(
    method: string,
    handler: (request: Req, call: ServerUnaryCall<Req, Res>) => Res | Promise<Res>,
    isPublic = false,
  ) {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      void (async () => {
        try {
          admit(call.metadata, isPublic);
          callback(null, await handler(call.request, call));
        } catch (err) {
          callback(fail(method, err));
        }
      })();
    };
  }

  /** Open ModelStreamInfer calls: shutdown ends them once their running requests are answered. */
  const streams = new Set<() => void>();
  const optionalVersion = (v: string) => (v === '' ? undefined : v);
  const cancelSignal = (call: { on(event: 'cancelled', f: () => void): unknown }) => {
    const controller = new AbortController();
    call.on('cancelled', () => controller.abort(new Error('client cancelled the call')));
    return controller.signal;
  };

  const implementation: UntypedServiceImplementation = {
    ServerLive: unary('ServerLive', () => ({ live: true }), true),
    ServerReady: unary('ServerReady', () => ({ ready: !ctx.shuttingDown && ctx.registry.ready() }), true),
    ModelReady: unary('ModelReady', (r: NameVersionRequest) => ({
      ready: modelReady(ctx, r.name, optionalVersion(r.version)),
    })),
    ServerMetadata: unary('ServerMetadata', () => serverMetadata(ctx)),
    ModelMetadata: unary('ModelMetadata', (r: NameVersionRequest) => {
      const m = modelMetadata(ctx, r.name, optionalVersion(r.version));
      const tensor = (t: { name: string; datatype: string; shape: number[] }) => ({
        name: t.name,
        datatype: t.datatype,
        shape: t.shape,
      });
      return { ...m, inputs: m.inputs.map(tensor), outputs: m.outputs.map(tensor) };
    }),
    ModelConfig: unary('ModelConfig', (r: NameVersionRequest) => ({
      config: toProtoConfig(describeConfig(ctx.registry.peek(r.name, optionalVersion(r.version)))),
    })),
    ModelStatistics: unary('ModelStatistics', (r: NameVersionRequest) => ({
      model_stats: modelStatistics(ctx, r.name === '' ? undefined : r.name, optionalVersion(r.version)),
    })),
    RepositoryIndex: unary('RepositoryIndex', async (r: { repository_name: string; ready: boolean }) => ({
      models: await ctx.registry.index(r.ready),
    })),
    RepositoryModelLoad: unary('RepositoryModelLoad', async (r: RepositoryModelRequest) => {
      let config: string | undefined;
      for (const [k, p] of Object.entries(r.parameters)) {
        const v = parameterValue(p as typeof p & Record<string, unknown>);
        if (k === 'config') {
          config = typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : undefined;
          if (config === undefined)
            throw new HttpError(400, 'ERR_BAD_REQUEST', "parameter 'config' must be a string");
        } else {
          // Triton's file:<path> overrides (model files in the request) are not taken: models come
          // from the repository only.
          throw new HttpError(
            400,
            'ERR_BAD_REQUEST',
            `load parameter '${k.slice(0, 64)}' is not supported (only 'config')`,
          );
        }
      }
      await ctx.registry.load(r.model_name, parseLoadConfig(config, r.model_name));
      log.info({ model: r.model_name, transport: 'grpc' }, 'model load finished');
      return {};
    }),
    RepositoryModelUnload: unary('RepositoryModelUnload', async (r: RepositoryModelRequest) => {
      await ctx.registry.unload(r.model_name);
      return {};
    }),
    LogSettings: unary('LogSettings', (r: { settings: Record<string, LogSettingValue> }) => {
      const update: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(r.settings)) {
        update[k] = parameterValue(v as LogSettingValue & Record<string, unknown>);
      }
      const now =
        Object.keys(update).length === 0
          ? readLogSettings(options.log)
          : updateLogSettings(options.log, update);
      return { settings: toLogSettingValues(now) };
    }),
    ModelInfer: unary('ModelInfer', (r: ModelInferRequest, call) =>
      grpcInfer(ctx, r, performance.now(), cancelSignal(call)),
    ),
    ModelStreamInfer: (call: ServerDuplexStream<ModelInferRequest, unknown>) => {
      try {
        admit(call.metadata, false);
      } catch (err) {
        call.emit('error', fail('ModelStreamInfer', err));
        return;
      }
      const signal = cancelSignal(call);
      // Requests run concurrently (they may share batches); responses are written in request order,
      // so a client streaming video frames reads results frame by frame.
      let tail: Promise<void> = Promise.resolve();
      let inFlight = 0;
      let ended = false;
      // Half-close from the client, or shutdown: read no more, answer what was read, then end.
      const finish = () => {
        if (ended) return;
        ended = true;
        streams.delete(finish);
        void tail.then(() => call.end());
      };
      streams.add(finish);
      call.on('data', (request: ModelInferRequest) => {
        if (ended) return; // shutting down: requests after the cut are not taken
        const started = performance.now();
        inFlight++;
        if (inFlight >= STREAM_WINDOW) call.pause();
        const result = (async () => {
          try {
            admit(call.metadata, false);
            return { infer_response: await grpcInfer(ctx, request, started, signal) };
          } catch (err) {
            const e = fail('ModelStreamInfer', err);
            return { error_message: e.details ?? 'error', infer_response: null };
          }
        })();
        tail = tail.then(async () => {
          const message = await result;
          if (!signal.aborted) call.write(message);
          if (--inFlight < STREAM_WINDOW && !ended) call.resume();
        });
      });
      call.on('end', finish);
      call.on('cancelled', () => streams.delete(finish));
      call.on('error', () => undefined); // a client reset: the cancel signal drops its queued work
    },
  };

  server.addService(serviceDefinition(), implementation);
  const host = options.host ?? '127.0.0.1';
  const address = host.includes(':') ? `[${host}]:${options.port}` : `${host}:${options.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, bound) =>
      err === null ? resolve(bound) : reject(err),
    );
  });

  let closed: Promise<void> | undefined;
  return {
    port,
    shutdown(graceMs = 30_000) {
      for (const finish of [...streams]) finish();
      closed ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), graceMs);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      return closed;
    },
  };
}

function toLogSettingValues(s: LogSettings): Record<string, LogSettingValue> {
  return {
    log_file: { string_param: s.log_file },
    log_info: { bool_param: s.log_info },
    log_warning: { bool_param: s.log_warning },
    log_error: { bool_param: s.log_error },
    log_verbose_level: { uint32_param: s.log_verbose_level },
    log_format: { string_param: s.log_format },
  };
}

export { status as grpcStatus };
