/**
 * Options of the TensorRT backend and `yolo-trt build`, validated and resolved against the model and the
 * TensorRT compiled into the addon. Pure: testable without TensorRT.
 */
import { invalidOption, optionalIntInRange } from '../errors.js';
import type { ModelInfo } from '../model/types.js';
import { resolveCacheDir } from '../engine-cache/cache-dir.js';
import type { BatchProfile, Precision } from '../engine-cache/key.js';

export interface TensorRtOptions {
  /** Engine precision. Default 'fp16' (TensorRT 11: the model's own type, see stronglyTyped). */
  precision?: Precision | undefined;
  /** Images per run for models with a dynamic batch (the optimization profile's max). Default 8. */
  maxBatch?: number | undefined;
  /** Builder workspace limit in MiB. Default: TensorRT's (all free device memory). */
  workspaceMb?: number | undefined;
  /** Execution contexts: detect() calls that run on the GPU in parallel. Default 2. */
  contexts?: number | undefined;
  /** CUDA device index. Default 0. */
  device?: number | undefined;
  /**
   * Most detections per image a detect() call may ask for (its maxDet). The GPU's detection buffers are
   * sized for it once, at load, so no call reallocates device memory. Default 300, at most 30000.
   */
  maxDet?: number | undefined;
  /** Plan cache folder. Default $YOLO_TRT_CACHE or ~/.cache/yolo-trt. */
  cacheDir?: string | undefined;
  /** INT8 calibration images (TensorRT < 10 without a Q/DQ model). */
  calibDir?: string | undefined;
  /** At most this many calibration images (sorted by name). Default 512. */
  calibMaxImages?: number | undefined;
  /** Ignore a cached plan and build again. */
  rebuild?: boolean | undefined;
}

export interface ResolvedTensorRtOptions {
  precision: Precision;
  /** Images per detect() chunk: the fixed batch, or the profile's max. */
  maxBatch: number;
  /** null when the model's batch is fixed. */
  profile: BatchProfile | null;
  workspaceBytes: number | null;
  contexts: number;
  device: number;
  maxDet: number;
  cacheDir: string;
  calibDir: string | null;
  calibMaxImages: number;
  rebuild: boolean;
}

export const DEFAULT_TRT_DYNAMIC_MAX_BATCH = 8;
export const DEFAULT_TRT_CONTEXTS = 2;
/** The maxDet limit of a TensorRT engine unless `tensorrt.maxDet` says otherwise. */
export const DEFAULT_TRT_MAX_DET = 300;
/** The NMS candidate cap: no call can keep more boxes than NMS considers. */
export const MAX_TRT_MAX_DET = 30_000;

export function resolveTrtMaxDet(value: number | undefined): number {
  return optionalIntInRange('tensorrt.maxDet', value, 0, MAX_TRT_MAX_DET) ?? DEFAULT_TRT_MAX_DET;
}

/**
 * `stronglyTyped` (TensorRT >= 11) changes the default precision: there the model's own types decide,
 * so an fp32 ONNX defaults to 'fp32' instead of failing on 'fp16'.
 */
export function resolveTensorRtOptions(
  model: Pick<ModelInfo, 'batch' | 'inputType'>,
  options: TensorRtOptions = {},
  env: NodeJS.ProcessEnv = process.env,
  stronglyTyped = false,
): ResolvedTensorRtOptions {
  const precision =
    options.precision ?? (stronglyTyped ? (model.inputType === 'float16' ? 'fp16' : 'fp32') : 'fp16');
  if (!['fp32', 'fp16', 'int8'].includes(precision)) {
    throw invalidOption('tensorrt.precision', "one of 'fp16', 'fp32', 'int8'", precision);
  }
  const requestedBatch = optionalIntInRange('tensorrt.maxBatch', options.maxBatch, 1, 4096);
  if (model.batch !== null && requestedBatch !== undefined && requestedBatch !== model.batch) {
    throw invalidOption(
      'tensorrt.maxBatch',
      `${model.batch} (the model's fixed batch; export with dynamic=True for other batch sizes)`,
      requestedBatch,
    );
  }
  const maxBatch = model.batch ?? requestedBatch ?? DEFAULT_TRT_DYNAMIC_MAX_BATCH;
  const workspaceMb = optionalIntInRange('tensorrt.workspaceMb', options.workspaceMb, 1, 1 << 24);
  const calibDir = options.calibDir ?? null;
  if (calibDir !== null && (typeof calibDir !== 'string' || calibDir === '')) {
    throw invalidOption('tensorrt.calibDir', 'a folder path', calibDir);
  }
  if (options.cacheDir !== undefined && (typeof options.cacheDir !== 'string' || options.cacheDir === '')) {
    throw invalidOption('tensorrt.cacheDir', 'a folder path', options.cacheDir);
  }
  return {
    precision,
    maxBatch,
    profile: model.batch === null ? { min: 1, opt: maxBatch, max: maxBatch } : null,
    workspaceBytes: workspaceMb === undefined ? null : workspaceMb * 1024 * 1024,
    contexts: optionalIntInRange('tensorrt.contexts', options.contexts, 1, 64) ?? DEFAULT_TRT_CONTEXTS,
    device: optionalIntInRange('tensorrt.device', options.device, 0, 1023) ?? 0,
    maxDet: resolveTrtMaxDet(options.maxDet),
    cacheDir: options.cacheDir ?? resolveCacheDir(env),
    calibDir,
    calibMaxImages: optionalIntInRange('tensorrt.calibMaxImages', options.calibMaxImages, 1, 100_000) ?? 512,
    rebuild: options.rebuild === true,
  };
}
