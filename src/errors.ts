/**
 * Every error yolo-trt throws is a YoloTrtError with a stable `code`. Codes are part of the public API:
 * callers (and the HTTP server) branch on them, so never rename one.
 */
export type ErrorCode =
  /** An option is out of range or of the wrong type. */
  | 'ERR_INVALID_OPTION'
  /** The model file does not exist or cannot be read. */
  | 'ERR_MODEL_NOT_FOUND'
  /** The file is not an ONNX model (or is truncated/corrupt protobuf). */
  | 'ERR_MODEL_INVALID'
  /** The model is ONNX but its inputs/outputs are not a YOLO detect export we understand. */
  | 'ERR_MODEL_UNSUPPORTED'
  /** The model is a segment/pose/obb/classify export. */
  | 'ERR_TASK_UNSUPPORTED'
  /** The backend could not load or run the model (onnxruntime/TensorRT refused it). */
  | 'ERR_MODEL_LOAD'
  /** Inference failed at run time. */
  | 'ERR_INFERENCE'
  /** An image could not be decoded: zero bytes, truncated, corrupt. */
  | 'ERR_BAD_IMAGE'
  /** The bytes are an image format we cannot decode, or raw pixels in an unknown format. */
  | 'ERR_UNSUPPORTED_FORMAT'
  /** The image has more pixels than `limitInputPixels` allows. */
  | 'ERR_IMAGE_TOO_LARGE'
  /** An image file path does not exist or cannot be read. */
  | 'ERR_IMAGE_NOT_FOUND'
  /** The detector (or backend) was disposed. */
  | 'ERR_DISPOSED'
  /** The operation was aborted through an AbortSignal. */
  | 'ABORT_ERR'
  /** The requested backend is not available here (not compiled, no driver, no device). */
  | 'ERR_BACKEND_UNAVAILABLE'
  /** CUDA is compiled in but no usable driver was found. */
  | 'ERR_NO_CUDA_DRIVER'
  /** A CUDA runtime call failed. */
  | 'ERR_CUDA'
  /** A cached or given TensorRT engine cannot be used with this TensorRT/GPU. */
  | 'ERR_ENGINE_INCOMPATIBLE'
  /** The native addon could not be loaded. */
  | 'ERR_NATIVE_LOAD'
  /** A validation dataset (data.yaml, image folder, label file) is missing or malformed. */
  | 'ERR_DATASET'
  /** A source (URL, glob, video, stream, webcam) cannot be opened, is too large, stalled or failed. */
  | 'ERR_SOURCE'
  /** Video and streams need a system `ffmpeg` (and `ffprobe`) on PATH or in YOLO_TRT_FFMPEG; none was found. */
  | 'ERR_FFMPEG_NOT_FOUND'
  /** A drift profile file is unreadable, malformed, or of an unknown format version. */
  | 'ERR_PROFILE_INVALID'
  /** A drift profile was made with another model (its sha256 differs from the served model's). */
  | 'ERR_PROFILE_MODEL_MISMATCH'
  /** A bug: an invariant did not hold. Please report it. */
  | 'ERR_INTERNAL';

export class YoloTrtError extends Error {
  readonly code: ErrorCode;
  /** Extra machine-readable context (the option name, the path, the backend refusals...). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = code === 'ABORT_ERR' ? 'AbortError' : 'YoloTrtError';
    this.code = code;
    this.details = options?.details;
  }
}

export function isYoloTrtError(err: unknown, code?: ErrorCode): err is YoloTrtError {
  return err instanceof YoloTrtError && (code === undefined || err.code === code);
}

/** Describes a received value for "Expected X for Y but received Z" messages (sharp's wording). */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string')
    return `'${value.length > 60 ? value.slice(0, 57) + '...' : value}' of type string`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${String(value)} of type ${typeof value}`;
  }
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of ${value.byteLength} bytes`;
  return `a value of type ${typeof value}`;
}

export function invalidOption(name: string, expected: string, value: unknown): YoloTrtError {
  return new YoloTrtError(
    'ERR_INVALID_OPTION',
    `Expected ${expected} for ${name} but received ${describeValue(value)}`,
    { details: { option: name } },
  );
}

/** An integer option in [min, max], or undefined when not given; anything else is ERR_INVALID_OPTION. */
export function optionalIntInRange(name: string, v: unknown, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalidOption(name, `an integer between ${min} and ${max}`, v);
  }
  return v;
}

export function abortError(signal: AbortSignal): YoloTrtError {
  const reason: unknown = signal.reason;
  const why = reason instanceof Error ? reason.message : reason === undefined ? '' : String(reason);
  return new YoloTrtError('ABORT_ERR', `The operation was aborted${why ? `: ${why}` : ''}`, {
    cause: reason,
  });
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}
