import { IMAGE_STATS_FIELDS, type NativeImage } from '../native/binding.js';
import type { ModelInfo } from '../model/types.js';

export type BackendName = 'cpu' | 'tensorrt';

/** Resolved, validated per-call post-processing parameters. */
export interface DetectParams {
  conf: number;
  iou: number;
  maxDet: number;
  agnostic: boolean;
  /** null = all classes. */
  classes: readonly number[] | null;
  /** Measure content statistics in the letterbox pass (native/core/image_stats.h). Default false. */
  imageStats?: boolean;
}

/** One image's raw result from a backend, before names are attached. */
export interface BackendImageResult {
  /** Rows of [x1, y1, x2, y2, score, cls] in original-image pixels. */
  rows: Float32Array;
  speed: { preprocess: number; inference: number; postprocess: number };
  /** With params.imageStats, where the backend supports it: the native statistics, in their order. */
  imageStats?: Float64Array;
}

/**
 * One batch's results: each image's rows with the batch's per-image speed, and its slice of the
 * batch's statistics (IMAGE_STATS_FIELDS values per image, images in order) when they were measured.
 */
export function batchResults(
  rows: readonly Float32Array[],
  speed: BackendImageResult['speed'],
  stats: Float64Array | undefined,
): BackendImageResult[] {
  const fields = IMAGE_STATS_FIELDS.length;
  return rows.map((r, i) =>
    stats === undefined
      ? { rows: r, speed: { ...speed } }
      : { rows: r, speed: { ...speed }, imageStats: stats.subarray(i * fields, (i + 1) * fields) },
  );
}

/**
 * A backend runs the whole pixels -> boxes pipeline for a batch of decoded images. The CPU backend does
 * letterbox/NMS natively and inference in onnxruntime worker threads; the TensorRT backend does all of
 * it on the GPU. Implementations must never block the JS thread and must be safe to call concurrently.
 */
export interface Backend {
  readonly name: BackendName;
  readonly model: ModelInfo;
  /** Images per inference run (1 for a static batch-1 model). */
  readonly maxBatch: number;
  /** How many runs can execute at once (workers / execution contexts). */
  readonly concurrency: number;
  /**
   * Set (to the first error) once this backend's GPU context is lost: a sticky CUDA error (illegal
   * address, launch failure, ...) poisons CUDA for the whole process, every later call fails, and only a
   * new process recovers. Absent or null while the backend is usable.
   */
  readonly deviceLost?: string | null;
  /** Human-readable description for logs and `doctor` (threads, precision, ...). */
  describe(): Record<string, unknown>;
  detect(images: NativeImage[], params: DetectParams, signal?: AbortSignal): Promise<BackendImageResult[]>;
  /**
   * Runs an already letterboxed float32 tensor [n, 3, H, W] (RGB, 0..1). Boxes come back in
   * network-input pixels (scale_boxes is the identity, plus the clamp).
   */
  detectTensor(
    tensor: Float32Array,
    n: number,
    params: DetectParams,
    signal?: AbortSignal,
  ): Promise<BackendImageResult[]>;
  dispose(): Promise<void>;
}
