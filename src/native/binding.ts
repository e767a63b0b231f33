/**
 * The typed surface of the native addon: the only description of what C++ exports. Nothing outside
 * src/native/ imports the addon; everything goes through these types.
 *
 * Conventions (see ../shared/docs/DESIGN.md "The native boundary"):
 * - one native call per job; TS validates options first, C++ re-checks cheaply and copies into a struct;
 * - slow calls return Promises resolved from a libuv worker (AsyncWorker), never blocking the JS thread;
 * - pixel buffers are kept alive by a reference while the worker runs and are not written by C++;
 * - errors are Error objects with a stable `code` (see ../errors.ts ErrorCode) copied from the C++ error.
 */

/** Channel layout of 8-bit pixels. 'gray' is 1 channel, rgb/bgr 3, rgba/bgra 4 (alpha is dropped). */
export type PixelFormat = 'rgb' | 'bgr' | 'rgba' | 'bgra' | 'gray';

export interface NativeImage {
  /** 8-bit interleaved pixels; row r starts at byte r * stride. */
  data: Uint8Array;
  width: number;
  height: number;
  /** Bytes per row, >= width * channels(format). */
  stride: number;
  format: PixelFormat;
}

/** Where an image landed inside the letterboxed input (the letterbox's own rounding). */
export interface LetterboxGeometry {
  /** Resized content size. */
  newWidth: number;
  newHeight: number;
  /** Padding on the left/top in pixels (the rest goes right/bottom). */
  left: number;
  top: number;
  /** min(H/h, W/w), double. */
  ratio: number;
}

export type TensorDType = 'float32' | 'float16' | 'uint8';

export interface PreprocessOptions {
  /** Network input size (W, H). */
  width: number;
  height: number;
  /**
   * float32: v / 255.0f; float16: the same value rounded to half (Uint16Array bits); uint8: the raw
   * letterboxed bytes (for tests and drawing). Always planar RGB, NCHW.
   */
  dtype: TensorDType;
  /** Worker threads used for this batch (>= 1). Images are split across them. */
  threads: number;
}

export interface PreprocessResult {
  /** [n, 3, H, W] in `dtype`; Float32Array for float32, Uint16Array (half bits) for float16, Uint8Array for uint8. */
  tensor: Float32Array | Uint16Array | Uint8Array;
  /** One entry per input image. */
  geometry: LetterboxGeometry[];
  /** Wall time of the native work per image in ms (total / n when batched). */
  msPerImage: number;
}

export interface PostprocessOptions {
  /** Raw output [batch, 4 + nc, anchors] as float32, row-major. */
  dims: [number, number, number];
  /** Strict score threshold (score > conf). */
  conf: number;
  /** IoU threshold (suppress when iou > this). */
  iou: number;
  maxDet: number;
  agnostic: boolean;
  /** Keep only these class ids; null = all. */
  classes: Int32Array | null;
  /** Network input size the outputs are in. */
  inputWidth: number;
  inputHeight: number;
  /** Original image sizes, [w0, h0] per batch item: length 2 * batch. */
  origSizes: Int32Array;
  threads: number;
}

export interface PostprocessResult {
  /** Per image: rows of [x1, y1, x2, y2, score, cls] in original-image pixels, score-descending. */
  detections: Float32Array[];
  msPerImage: number;
}

export interface NativeCapabilities {
  /** Addon version (package version it was built from). */
  version: string;
  /** Build variant tag, e.g. 'cpu', 'cuda', 'tensorrt10'. */
  variant: string;
  cuda: {
    compiled: boolean;
    /** CUDA runtime version the addon was built with, e.g. '13.0', or null. */
    runtimeVersion: string | null;
    /** Driver version found at run time, or null (and `error` says why). */
    driver: string | null;
    devices: { index: number; name: string; computeCapability: string; memoryBytes: number }[];
    error: string | null;
  };
  tensorrt: { compiled: boolean; version: string | null };
}

export interface NativeBinding {
  capabilities(): NativeCapabilities;
  /** Pure geometry, synchronous (cheap). */
  letterboxGeometry(width: number, height: number, dstWidth: number, dstHeight: number): LetterboxGeometry;
  preprocess(images: NativeImage[], options: PreprocessOptions): Promise<PreprocessResult>;
  postprocess(output: Float32Array, options: PostprocessOptions): Promise<PostprocessResult>;
}
