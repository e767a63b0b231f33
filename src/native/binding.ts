/**
 * The typed surface of the native addon: the only description of what C++ exports. Nothing outside
 * src/native/ imports the addon; everything goes through these types.
 *
 * Conventions (see ../shared/docs/DESIGN.md "The native boundary"):
 * - one native call per job; TS validates options first, C++ re-checks cheaply and copies into a struct;
 * - slow calls return Promises resolved from a libuv worker (AsyncWorker), never blocking the JS thread;
 * - pixel buffers are kept alive by a reference while the worker runs and are not written by C++;
 * - errors are Error objects with a stable `code` (see ../errors.ts ErrorCode) copied from the C++ error.
 *   Argument errors reject the returned promise (they are not thrown synchronously): ERR_INVALID_OPTION
 *   for options and array shapes, ERR_BAD_IMAGE for pixel buffers that do not match their
 *   width/height/stride, ERR_UNSUPPORTED_FORMAT for an unknown `format`. letterboxGeometry() throws
 *   ERR_INVALID_OPTION synchronously. Use wrapNativeError/callNative (./load.ts) to get YoloTrtError.
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
  /**
   * Optional: write into this array instead of allocating a new one (Float32Array for float32,
   * Uint16Array for float16, Uint8Array for uint8; at least n*3*H*W elements; must not share memory
   * with the input pixels). It is returned as `tensor` (a view of its first n*3*H*W elements when
   * longer). Reusing one output avoids first-touch page faults of fresh memory, which cost ~12 us per
   * 4 KiB page on our sandboxed CI (15-20 ms per 640x640 float32 image, 10x the letterbox itself).
   */
  output?: Float32Array | Uint16Array | Uint8Array;
  /**
   * Also accumulate each image's content statistics in the same pass (resized content only, never the
   * padding): IMAGE_STATS_FIELDS values per image, returned as `stats`. Default false.
   */
  stats?: boolean;
}

/** The order of the values of PreprocessResult.stats for one image (native/core/image_stats.h). */
export const IMAGE_STATS_FIELDS = [
  'meanR',
  'meanG',
  'meanB',
  'stdR',
  'stdG',
  'stdB',
  'lumaMean',
  'lumaStd',
  'contrast',
  'sharpness',
  'colorfulness',
] as const;

export interface PreprocessResult {
  /** [n, 3, H, W] in `dtype`; Float32Array for float32, Uint16Array (half bits) for float16, Uint8Array for uint8. */
  tensor: Float32Array | Uint16Array | Uint8Array;
  /** One entry per input image. */
  geometry: LetterboxGeometry[];
  /** Wall time of the native work per image in ms (total / n when batched). */
  msPerImage: number;
  /** With options.stats: IMAGE_STATS_FIELDS.length values per image, images in order. */
  stats?: Float64Array;
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

/**
 * End-to-end outputs [batch, K, 6]: rows (x1, y1, x2, y2, score, cls) in network-input pixels, ranked by
 * the model. Kept: score > conf (strict), class in `classes`, the first maxDet in the model's order; then
 * scale_boxes. iou and agnostic are checked like postprocess() but have no effect.
 */
export interface PostprocessEndToEndOptions extends Omit<PostprocessOptions, 'dims' | 'threads'> {
  /** [batch, K, 6]. */
  dims: [number, number, number];
  /** Classes of the model: class ids in the output and in `classes` must be below it. */
  numClasses: number;
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

// ---- GPU telemetry (every build; native/addon/gpu_metrics.cpp) -------------------------------------

/** One GPU at one instant. A value the device or driver does not report is null. */
export interface NativeGpuDevice {
  index: number;
  /** NVML's UUID ('GPU-...'), or 'jetson-<index>' on a Jetson. */
  uuid: string;
  name: string;
  /** GPU busy fraction over the driver's last sample period, 0..1. */
  utilization: number | null;
  /** On a Jetson: system RAM (the GPU shares it), used = MemTotal - MemAvailable. */
  memoryUsedBytes: number | null;
  memoryTotalBytes: number | null;
  /** Board power draw in watts; on a Jetson the module's input power (INA3221 VDD_IN, or all rails). */
  powerWatts: number | null;
  temperatureC: number | null;
}

export interface NativeGpuMetrics {
  /** Where the values came from: NVML (opened at run time), Jetson sysfs, or nothing. */
  source: 'nvml' | 'jetson' | 'none';
  /** Why source is 'none' (no NVML library, nvmlInit failed, not a Jetson, ...); null otherwise. */
  reason: string | null;
  devices: NativeGpuDevice[];
}

// ---- GPU surface (CUDA / TensorRT builds only; see native/addon/gpu_register.h) ---------------------

/** Detection parameters of one GPU call (the CPU path passes the same values to postprocess()). */
export interface GpuDetectParams {
  conf: number;
  iou: number;
  maxDet: number;
  agnostic: boolean;
  /** Keep only these class ids; null = all. */
  classes: Int32Array | null;
  /**
   * detect() only: also accumulate each image's content statistics inside the letterbox kernel (the
   * values PreprocessOptions.stats gives on the CPU), returned as `stats`. Default false.
   */
  imageStats?: boolean;
}

export interface GpuDetectResult {
  /** Per image: rows of [x1, y1, x2, y2, score, cls], score-descending. */
  detections: Float32Array[];
  /** Milliseconds of this batch: preprocess (pack + upload + letterbox), inference, postprocess (decode + NMS + download). */
  timing: { preprocess: number; inference: number; postprocess: number };
  /** With params.imageStats: IMAGE_STATS_FIELDS.length values per image, images in order. */
  stats?: Float64Array;
}

export type TrtPrecision = 'fp32' | 'fp16' | 'int8';

export interface TrtBuildOptions {
  precision: TrtPrecision;
  /** Network input size (used when the ONNX declares dynamic height/width). */
  inputWidth: number;
  inputHeight: number;
  /** Optimization profile for a dynamic batch (ignored when the ONNX batch is fixed). */
  minBatch: number;
  optBatch: number;
  maxBatch: number;
  /** Builder workspace limit in bytes; 0 = TensorRT's default. */
  workspaceBytes: number;
  /** CUDA device index. */
  device: number;
  /** A timing cache from an earlier build on this GPU + TensorRT, or null. */
  timingCache: Uint8Array | null;
  /** The ONNX file's path, for models with external weights; null when the bytes are all there is. */
  onnxPath: string | null;
  /**
   * INT8 entropy calibration (TensorRT < 10 only, see NativeTensorRt.features): images letterboxed by
   * preprocess() into float32 [count, 3, H, W].
   */
  calibration: { tensor: Float32Array; count: number; batch: number; cache: Uint8Array | null } | null;
}

/** One IProgressMonitor event (TensorRT >= 10). */
export interface TrtBuildProgress {
  kind: 'start' | 'step' | 'finish';
  phase: string;
  parent: string | null;
  /** kind 'start': steps in the phase. */
  steps: number;
  /** kind 'step': the step just completed (0-based). */
  step: number;
}

export interface TrtBuildResult {
  /** The serialized engine (a bare plan). */
  plan: Uint8Array;
  /** The updated timing cache to persist, or null. */
  timingCache: Uint8Array | null;
  /** The calibration table TensorRT wrote (INT8 with a calibrator), or null. */
  calibrationCache: Uint8Array | null;
  dynamicBatch: boolean;
  /** The ONNX carried Q/DQ nodes (explicit quantization). */
  quantizedModel: boolean;
  /** TensorRT warnings and errors of the build. */
  log: string[];
}

export interface TrtBuildJob {
  /** Rejects with ABORT_ERR after cancel(). */
  promise: Promise<TrtBuildResult>;
  /** Stops the build at the next progress step (TensorRT >= 10) or before it starts (older versions). */
  cancel(): void;
}

export interface TrtEngineInfo {
  inputName: string;
  outputName: string;
  inputType: 'float32' | 'float16';
  outputType: 'float32' | 'float16';
  dynamicBatch: boolean;
  /** The engine's own batch range (fixed batch: min == max). */
  minBatch: number;
  maxBatch: number;
  /** Images per detect() call this engine object accepts. */
  batch: number;
  width: number;
  height: number;
  /** 4 + number of classes; end-to-end engines: K rows per image. */
  channels: number;
  /** Anchors; end-to-end engines: 6 (floats per row). */
  anchors: number;
  /** Output [batch, K, 6] rows (x1, y1, x2, y2, score, cls), no NMS. */
  endToEnd: boolean;
  /** Classes the engine's class ids and `classes` filters are checked against. */
  numClasses: number;
  /** Execution contexts (concurrent detect() calls that run in parallel). */
  contexts: number;
  /** The largest per-call maxDet (detection buffers are sized for it at load). */
  maxDet: number;
}

/** A loaded engine with its pool of execution contexts. */
export interface NativeTrtEngine {
  readonly info: TrtEngineInfo;
  /** Up to info.batch images -> detections in original-image pixels. */
  detect(images: NativeImage[], params: GpuDetectParams): Promise<GpuDetectResult>;
  /** A letterboxed float32 tensor [n, 3, H, W] -> detections in network-input pixels. */
  detectTensor(tensor: Float32Array, n: number, params: GpuDetectParams): Promise<GpuDetectResult>;
  /** Frees contexts, buffers and the engine (after calls still running); later calls reject ERR_DISPOSED. */
  dispose(): Promise<void>;
}

export interface TrtLoadOptions {
  contexts: number;
  maxBatch: number;
  device: number;
  /** The largest per-call maxDet (detection buffers are sized for it at load). Default 300. */
  maxDet?: number;
  /**
   * [height, width] to run an engine with dynamic height/width at (Ultralytics dynamic=True: a profile
   * from 32x32 to 2x imgsz); must lie inside its profile. Omitted: the profile's opt size. A fixed-size
   * engine refuses any other size (ERR_INVALID_OPTION).
   */
  imgsz?: [number, number];
  /** From the model's metadata: true/false; omitted: the output shape decides ([B, K, 6]). */
  endToEnd?: boolean;
  /** Classes of an end-to-end model (its output does not say); ignored for classic engines. */
  numClasses?: number;
}

export interface NativeTensorRt {
  /** The libnvinfer loaded at run time, e.g. '10.3.0'. */
  version: string;
  /** The TensorRT headers the addon was compiled against. */
  compiledVersion: string;
  features: {
    /** IInt8EntropyCalibrator2 available (TensorRT < 10); else INT8 needs a Q/DQ model. */
    int8Calibration: boolean;
    /** Build progress and mid-build cancellation (TensorRT >= 10). */
    progressMonitor: boolean;
    /** TensorRT >= 11: precision follows the model's own types (fp16 needs an fp16 ONNX). */
    stronglyTyped: boolean;
  };
  buildEngine(
    onnx: Uint8Array,
    options: TrtBuildOptions,
    onProgress?: (event: TrtBuildProgress) => void,
  ): TrtBuildJob;
  /** Deserializes a bare plan (strip an Ultralytics header first). Rejects ERR_ENGINE_INCOMPATIBLE. */
  loadEngine(plan: Uint8Array, options: TrtLoadOptions): Promise<NativeTrtEngine>;
}

/** Test-only entry points over the CUDA kernels (scripts/gpu-check). Not a public API. */
export interface NativeCudaTest {
  letterbox(
    images: NativeImage[],
    options: { width: number; height: number; dtype: TensorDType },
  ): Promise<{ tensor: Float32Array | Uint16Array | Uint8Array; geometry: LetterboxGeometry[] }>;
  postprocess(
    output: Float32Array,
    options: Omit<PostprocessOptions, 'threads'>,
  ): Promise<{ detections: Float32Array[] }>;
  /** The whole GPU pipeline with inference replaced by uploading `output` (float32 [n, 4 + nc, anchors]). */
  pipeline(
    images: NativeImage[],
    output: Float32Array,
    options: GpuDetectParams & {
      dims: [number, number, number];
      inputWidth: number;
      inputHeight: number;
      inputType: 'float32' | 'float16';
    },
  ): Promise<GpuDetectResult>;
  /** Microseconds per letterbox launch (kernels only), `iterations` samples. */
  timeLetterbox(
    images: NativeImage[],
    options: {
      width: number;
      height: number;
      dtype: 'float32' | 'float16';
      iterations: number;
      /** Time the letterbox with the image statistics accumulated in the kernel. */
      stats?: boolean;
    },
  ): Promise<Float32Array>;
  /** Microseconds per decode + sort + NMS + download of the rows, `iterations` samples. */
  timePostprocess(
    output: Float32Array,
    options: Omit<PostprocessOptions, 'threads'> & { iterations: number },
  ): Promise<Float32Array>;
}

export interface NativeBinding {
  capabilities(): NativeCapabilities;
  /** Pure geometry, synchronous (cheap). */
  letterboxGeometry(width: number, height: number, dstWidth: number, dstHeight: number): LetterboxGeometry;
  preprocess(images: NativeImage[], options: PreprocessOptions): Promise<PreprocessResult>;
  postprocess(output: Float32Array, options: PostprocessOptions): Promise<PostprocessResult>;
  /**
   * End-to-end outputs. Rejects ERR_INFERENCE when a row above conf has a class column that is not a
   * class id (the output is not a detect model's).
   */
  postprocessEndToEnd(output: Float32Array, options: PostprocessEndToEndOptions): Promise<PostprocessResult>;
  /**
   * Live GPU telemetry (a few ms of NVML/sysfs reads on a libuv worker). Never rejects for a missing GPU,
   * driver or file: that is source 'none' with a reason, or null fields. `sysfsRoot` is for tests only: it
   * reads the Jetson files under that directory and skips NVML. YOLO_TRT_NVML_PATH (tests only, read at
   * the first call) replaces the NVML library path.
   */
  gpuMetrics(options?: { sysfsRoot?: string }): Promise<NativeGpuMetrics>;
  /**
   * glibc's malloc_trim(0) on a libuv worker: freed heap pages go back to the OS. Resolves true when
   * memory was released, false when none was or the C library is not glibc. Use ./trim.ts.
   */
  trimNativeHeap(): Promise<boolean>;
  /** Present only in builds with TensorRT. */
  tensorrt?: NativeTensorRt;
  /** Present only in builds with CUDA (test-only). */
  cudaTest?: NativeCudaTest;
}
