import { invalidOption, optionalIntInRange } from './errors.js';
import type { DetectParams } from './backends/backend.js';
import type { TensorRtOptions } from './backends/tensorrt-options.js';
import { DEFAULT_LIMIT_INPUT_PIXELS, DEFAULT_MAX_FILE_BYTES } from './image/decode.js';

/** Ultralytics' predict defaults. */
export const DEFAULTS = { conf: 0.25, iou: 0.7, maxDet: 300, agnostic: false } as const;

/** NMS never sees more than this many candidates (Ultralytics' max_nms); max_det cannot exceed it. */
export const MAX_NMS_CANDIDATES = 30_000;

export type BackendRequest = 'auto' | 'cpu' | 'tensorrt';

/** Per-call thresholds; each overrides the detector's default. */
export interface DetectOptions {
  /** Score threshold, strict (score > conf). Default 0.25. */
  conf?: number;
  /** NMS IoU threshold. Default 0.7. */
  iou?: number;
  /** Maximum detections per image. Default 300. */
  maxDet?: number;
  /** Keep only these class ids. Default: all. */
  classes?: readonly number[] | null;
  /** Class-agnostic NMS. Default false. */
  agnostic?: boolean;
  /**
   * Also measure the image's content statistics (means, spread, contrast, sharpness, colourfulness) in
   * the letterbox pass (the CPU letterbox, or the CUDA letterbox kernel on the TensorRT backend), for
   * drift monitoring: see `DetectResult.imageStats`. Not measured for letterboxed tensor inputs.
   * Default false.
   */
  imageStats?: boolean;
  signal?: AbortSignal;
}

export interface CpuOptions {
  /** onnxruntime sessions, each in its own worker thread. */
  workers?: number;
  /** Threads per session for one operator. */
  intraOpThreads?: number;
  /** Threads per session across operators. */
  interOpThreads?: number;
  /** Images per run for models with a dynamic batch dimension. */
  maxBatch?: number;
  /**
   * Whether onnxruntime's idle pool threads spin (busy-wait) for the next operator instead of sleeping.
   * Spinning saves a few ms per image when the process has the cores to itself, and burns that CPU
   * otherwise. Default true (onnxruntime's own); the server defaults to false, because its HTTP work
   * shares the cores with inference.
   */
  spinning?: boolean;
}

export interface DetectorOptions extends Omit<DetectOptions, 'signal'> {
  /** Path to a YOLO ONNX detect export. */
  model: string;
  /** 'auto' (default) picks tensorrt where it is built and usable, else cpu. */
  backend?: BackendRequest;
  /**
   * Network input size, `640` or `[height, width]` (Ultralytics' imgsz order), for models exported with
   * dynamic height/width: images are letterboxed to it. Default: the model's `imgsz` metadata. A model
   * with a fixed input size refuses any other size (ERR_INVALID_OPTION).
   */
  imgsz?: number | readonly [number, number];
  /** Refuse images with more pixels than this (decompression bombs). Default 100_000_000. */
  limitInputPixels?: number;
  /**
   * Refuse image files (path inputs) larger than this many bytes, checked before reading; only regular
   * files are read. Default 268_435_456 (256 MiB).
   */
  maxFileBytes?: number;
  /** Threads for native letterbox/NMS per batch. Default: all cores, at most 8. */
  preprocessThreads?: number;
  cpu?: CpuOptions;
  /** TensorRT engine options (precision, maxBatch, contexts, cacheDir, ...); see docs/gpu.md. */
  tensorrt?: TensorRtOptions;
  /**
   * Run one detection on a synthetic image in `create`, on every worker/context, so first-use costs
   * (session arenas, tensor pages, decoder start-up) are paid there and not by the first real image.
   * Default true; false for a faster `create` (then the first detect is slower).
   */
  warmup?: boolean;
  signal?: AbortSignal;
}

export interface ResolvedDetectorOptions {
  model: string;
  /** [height, width], or undefined for the model's own size. */
  imgsz: readonly [number, number] | undefined;
  backend: BackendRequest;
  limitInputPixels: number;
  maxFileBytes: number;
  preprocessThreads: number | undefined;
  cpu: CpuOptions;
  tensorrt: TensorRtOptions;
  defaults: DetectParams;
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function checkUnitInterval(name: string, v: unknown): number {
  if (!isFiniteNumber(v) || v < 0 || v > 1) throw invalidOption(name, 'a number between 0 and 1', v);
  return v;
}

/** A required positive integer: only called with a value the caller gave (undefined is refused too). */
function checkPositiveInt(name: string, v: unknown, max: number): number {
  const n = optionalIntInRange(name, v, 1, max);
  if (n === undefined) throw invalidOption(name, `an integer between 1 and ${max}`, v);
  return n;
}

/**
 * Merges per-call options over defaults and validates them against the model's class count, so native
 * code never sees a NaN threshold or an unknown class id.
 */
export function resolveDetectParams(
  base: DetectParams,
  overrides: Omit<DetectOptions, 'signal'> | undefined,
  numClasses: number,
): DetectParams {
  const o = overrides ?? {};
  if (typeof o !== 'object') throw invalidOption('options', 'an object', o);
  const conf = o.conf === undefined ? base.conf : checkUnitInterval('conf', o.conf);
  const iou = o.iou === undefined ? base.iou : checkUnitInterval('iou', o.iou);
  const maxDet =
    o.maxDet === undefined ? base.maxDet : checkPositiveInt('maxDet', o.maxDet, MAX_NMS_CANDIDATES);
  let agnostic = base.agnostic;
  if (o.agnostic !== undefined) {
    if (typeof o.agnostic !== 'boolean') throw invalidOption('agnostic', 'a boolean', o.agnostic);
    agnostic = o.agnostic;
  }
  let classes = base.classes;
  if (o.classes !== undefined) classes = checkClasses(o.classes, numClasses);
  let imageStats = base.imageStats;
  if (o.imageStats !== undefined) {
    if (typeof o.imageStats !== 'boolean') throw invalidOption('imageStats', 'a boolean', o.imageStats);
    imageStats = o.imageStats;
  }
  return imageStats === undefined
    ? { conf, iou, maxDet, agnostic, classes }
    : { conf, iou, maxDet, agnostic, classes, imageStats };
}

function checkClasses(v: unknown, numClasses: number): readonly number[] | null {
  if (v === null) return null;
  if (!Array.isArray(v)) throw invalidOption('classes', 'an array of class ids or null', v);
  for (const c of v) {
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c >= numClasses) {
      throw invalidOption(
        'classes',
        `class ids between 0 and ${numClasses - 1} (the model has ${numClasses} classes)`,
        c,
      );
    }
  }
  return [...new Set(v as number[])].sort((a, b) => a - b);
}

/** Validates Detector.create options (class ids are checked later, once the model is read). */
export function resolveDetectorOptions(options: DetectorOptions): ResolvedDetectorOptions {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption('options', 'an object with at least { model }', options);
  }
  if (typeof options.model !== 'string' || options.model.length === 0) {
    throw invalidOption('model', 'a path to an ONNX file', options.model);
  }
  const backend = options.backend ?? 'auto';
  if (backend !== 'auto' && backend !== 'cpu' && backend !== 'tensorrt') {
    throw invalidOption('backend', "one of 'auto', 'cpu', 'tensorrt'", backend);
  }
  const limitInputPixels =
    options.limitInputPixels === undefined
      ? DEFAULT_LIMIT_INPUT_PIXELS
      : checkPositiveInt('limitInputPixels', options.limitInputPixels, Number.MAX_SAFE_INTEGER);
  const maxFileBytes =
    options.maxFileBytes === undefined
      ? DEFAULT_MAX_FILE_BYTES
      : checkPositiveInt('maxFileBytes', options.maxFileBytes, Number.MAX_SAFE_INTEGER);
  // Thread and batch counts are range-checked by the backend that uses them (onnxruntime.ts).
  const preprocessThreads = options.preprocessThreads;
  const cpu = options.cpu ?? {};
  if (typeof cpu !== 'object' || cpu === null) throw invalidOption('cpu', 'an object', cpu);
  const tensorrt = options.tensorrt ?? {};
  if (typeof tensorrt !== 'object' || tensorrt === null)
    throw invalidOption('tensorrt', 'an object', tensorrt);
  // Class ids need the model's class count: validated against it in Detector.create.
  const defaults = resolveDetectParams(
    {
      conf: DEFAULTS.conf,
      iou: DEFAULTS.iou,
      maxDet: DEFAULTS.maxDet,
      agnostic: DEFAULTS.agnostic,
      classes: null,
    },
    { ...options, classes: undefined },
    Number.MAX_SAFE_INTEGER,
  );
  const imgsz = resolveImgsz(options.imgsz);
  return {
    model: options.model,
    imgsz,
    backend,
    limitInputPixels,
    maxFileBytes,
    preprocessThreads,
    cpu,
    tensorrt,
    defaults,
  };
}

/** Largest imgsz side accepted (the native letterbox's own limit). */
const MAX_IMGSZ = 1 << 16;

/** `640` -> [640, 640]; `[480, 640]` -> [480, 640] (height, width); undefined stays undefined. */
export function resolveImgsz(v: unknown): readonly [number, number] | undefined {
  if (v === undefined) return undefined;
  const expected = `a positive integer or [height, width] of positive integers up to ${MAX_IMGSZ}`;
  const ok = (n: unknown): n is number =>
    typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= MAX_IMGSZ;
  if (ok(v)) return [v, v];
  if (Array.isArray(v) && v.length === 2 && ok(v[0]) && ok(v[1])) return [v[0], v[1]];
  if (Array.isArray(v) && v.length === 1 && ok(v[0])) return [v[0], v[0]];
  throw invalidOption('imgsz', expected, v);
}
