import type { ServerContext } from '../context.js';
import { HttpError } from '../http-errors.js';
import type { InferOutcome } from '../model-instance.js';
import type { TritonModelStats } from '../model-stats.js';
import { OUTPUTS, inputMetadata } from './outputs.js';
import type { InferResponseBody, TensorMetadata } from './types.js';

/**
 * What the KServe v2 endpoints answer, independent of the transport: the HTTP routes and the gRPC
 * service both call these, so both protocols say the same thing.
 */

/** Exactly the protocol extensions this server implements (shared memory, tracing: not). */
export const EXTENSIONS: readonly string[] = [
  'binary_tensor_data',
  'model_repository',
  'model_configuration',
  'statistics',
  'parameters',
  'logging',
  // yolo-trt's own: candidate versions (shadow, canary), GET /v2/models/{m}/candidate,
  // POST /v2/repository/models/{m}/promote and /rollback.
  'yolo_trt_candidates',
];

export function serverMetadata(ctx: ServerContext): {
  name: string;
  version: string;
  extensions: string[];
} {
  return { name: 'yolo-trt', version: ctx.packageVersion, extensions: [...EXTENSIONS] };
}

export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
  /** Open Inference Protocol's optional model parameters: end-to-end models ignore iou and agnostic. */
  parameters: { end_to_end: boolean; ignored_parameters: string[] };
}

export function modelMetadata(ctx: ServerContext, model: string, version: string | undefined): ModelMetadata {
  const inst = ctx.registry.peek(model, version);
  const versions = version === undefined ? ctx.registry.serving(model).map((i) => i.version) : [inst.version];
  const info = inst.detector.model;
  return {
    name: model,
    versions,
    platform: `yolo-trt-${inst.detector.backend}`,
    inputs: inputMetadata(info.inputName, info.imgsz),
    outputs: [...OUTPUTS],
    parameters: { end_to_end: info.endToEnd, ignored_parameters: [...info.ignoredOptions] },
  };
}

/** True when the model (version) serves; false while loading or unloaded; throws for unknown ones. */
export function modelReady(ctx: ServerContext, model: string, version: string | undefined): boolean {
  try {
    ctx.registry.peek(model, version);
    return !ctx.shuttingDown;
  } catch (err) {
    if (err instanceof HttpError && err.code === 'ERR_MODEL_NOT_READY') return false;
    throw err;
  }
}

/** Statistics of every serving version (no model), of a model's serving versions, or of one version. */
export function modelStatistics(
  ctx: ServerContext,
  model: string | undefined,
  version: string | undefined,
): TritonModelStats[] {
  if (model === undefined) return [...ctx.registry.instances()].map((i) => i.stats.toJSON());
  const instances = version === undefined ? ctx.registry.serving(model) : [ctx.registry.peek(model, version)];
  return instances.map((i) => i.stats.toJSON());
}

/** Response-level parameters: where the time went and how large the batch it ran in was. */
export function inferResponseParameters(outcome: InferOutcome): NonNullable<InferResponseBody['parameters']> {
  return {
    queue_ms: outcome.queueMs,
    batch_size: outcome.batchImages,
    preprocess_ms: outcome.results.reduce((a, r) => a + r.speed.preprocess, 0),
    inference_ms: outcome.results.reduce((a, r) => a + r.speed.inference, 0),
    postprocess_ms: outcome.results.reduce((a, r) => a + r.speed.postprocess, 0),
  };
}
