import { basename } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DEFAULTS } from '../../options.js';
import type { ServerContext } from '../context.js';
import { OUTPUTS, inputMetadata } from '../kserve/outputs.js';
import { errorResponses, modelParams, statsResponseSchema } from '../kserve/schemas.js';
import type { ModelInstance } from '../model-instance.js';

/** Triton's statistics and configuration extensions. */

type ModelRouteParams = { model: string; version?: string };

const TRITON_TYPES: Readonly<Record<string, string>> = {
  BYTES: 'TYPE_STRING',
  FP32: 'TYPE_FP32',
  INT32: 'TYPE_INT32',
};

export function registerModelInfoRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const statsOptions = { schema: { response: { 200: statsResponseSchema, ...errorResponses } } };
  app.get('/v2/models/stats', statsOptions, async () => ({
    model_stats: [...ctx.registry.instances()].map((i) => i.stats.toJSON()),
  }));
  const stats = async (request: FastifyRequest<{ Params: ModelRouteParams }>) => {
    const { model, version } = request.params;
    const instances =
      version === undefined ? ctx.registry.serving(model) : [ctx.registry.peek(model, version)];
    return { model_stats: instances.map((i) => i.stats.toJSON()) };
  };
  const statsModelOptions = { schema: { params: modelParams, response: statsOptions.schema.response } };
  app.get('/v2/models/:model/stats', statsModelOptions, stats);
  app.get('/v2/models/:model/versions/:version/stats', statsModelOptions, stats);

  const config = async (request: FastifyRequest<{ Params: ModelRouteParams }>) =>
    describeConfig(ctx.registry.peek(request.params.model, request.params.version));
  // The config is a free-form object (Triton's is too); its fields are documented in docs/serving.md.
  const configOptions = {
    schema: {
      params: modelParams,
      response: { 200: { type: 'object', additionalProperties: true }, ...errorResponses },
    },
  };
  app.get('/v2/models/:model/config', configOptions, config);
  app.get('/v2/models/:model/versions/:version/config', configOptions, config);
}

/** The model's effective configuration, in Triton's field names where Triton has one. */
function describeConfig(inst: ModelInstance): Record<string, unknown> {
  const d = inst.detector;
  const info = d.model;
  const b = inst.batching;
  const c = inst.config;
  return {
    name: inst.name,
    version: inst.version,
    platform: `yolo-trt-${d.backend}`,
    backend: d.backend,
    max_batch_size: b.resolvedMaxBatchSize,
    input: inputMetadata(info.inputName, info.imgsz).map((t) => ({
      name: t.name,
      data_type: TRITON_TYPES[t.datatype],
      // Triton spells a batch of scalars (BYTES [-1]) as dims [1].
      dims: t.shape.length > 1 ? t.shape.slice(1) : [1],
    })),
    output: OUTPUTS.map((t) => ({
      name: t.name,
      data_type: TRITON_TYPES[t.datatype],
      // Triton spells a batch of scalars (BYTES [-1]) as dims [1].
      dims: t.shape.length > 1 ? t.shape.slice(1) : [1],
    })),
    dynamic_batching: {
      enabled: b.enabled,
      max_queue_delay_microseconds: Math.round(b.maxQueueDelayMs * 1000),
      max_inflight_batches: b.resolvedInflight,
      default_queue_policy: {
        max_queue_size: b.maxQueueSize,
        default_timeout_microseconds: Math.round(b.timeoutMs * 1000),
      },
    },
    instance_group: [{ count: d.concurrency, kind: d.backend === 'tensorrt' ? 'KIND_GPU' : 'KIND_CPU' }],
    version_policy: c.versionPolicy ?? { latest: 1 },
    parameters: {
      conf: c.conf ?? DEFAULTS.conf,
      iou: c.iou ?? DEFAULTS.iou,
      max_det: c.maxDet ?? DEFAULTS.maxDet,
      agnostic: c.agnostic ?? DEFAULTS.agnostic,
      classes: c.classes ?? null,
      // End-to-end models (NMS inside the model) ignore iou and agnostic.
      end_to_end: info.endToEnd,
      ignored_parameters: [...info.ignoredOptions],
      detector_max_batch: d.maxBatch,
      detector_concurrency: d.concurrency,
    },
    model_file: basename(info.path),
    imgsz: info.imgsz,
    stride: info.stride,
    end_to_end: info.endToEnd,
    labels: info.names,
    loaded_at: inst.loadedAt.toISOString(),
  };
}
