import { YoloTrtError } from '../errors.js';
import type { NativeCapabilities } from '../native/binding.js';
import type { BackendName } from './backend.js';

export interface BackendSelection {
  /** Backends to try, best first. */
  order: BackendName[];
  /** Why each better backend was skipped, e.g. "tensorrt: not compiled into this binary". */
  reasons: string[];
}

/** Why the TensorRT backend cannot run here, or null when it can be tried. */
export function tensorrtUnavailableReason(caps: NativeCapabilities | null): string | null {
  if (caps === null) return 'the native addon did not load';
  if (!caps.tensorrt.compiled) return `not compiled into this binary (variant '${caps.variant}')`;
  if (!caps.cuda.compiled) return 'CUDA is not compiled into this binary';
  if (caps.cuda.driver === null) return `no CUDA driver${caps.cuda.error ? ` (${caps.cuda.error})` : ''}`;
  if (caps.cuda.devices.length === 0) return 'no CUDA device found';
  return null;
}

/**
 * 'auto' tries tensorrt where it can run and falls back to cpu; an explicit request is honoured or
 * refused with every reason, never silently replaced.
 */
export function selectBackend(
  request: 'auto' | BackendName,
  caps: NativeCapabilities | null,
): BackendSelection {
  const trtReason = tensorrtUnavailableReason(caps);
  if (request === 'cpu') return { order: ['cpu'], reasons: [] };
  if (request === 'tensorrt') {
    if (trtReason !== null) {
      const noDriver =
        caps !== null && caps.tensorrt.compiled && caps.cuda.compiled && caps.cuda.driver === null;
      throw new YoloTrtError(
        noDriver ? 'ERR_NO_CUDA_DRIVER' : 'ERR_BACKEND_UNAVAILABLE',
        `backend 'tensorrt' is not available: ${trtReason}. Use backend 'cpu' or 'auto', or see \`yolo-trt doctor\`.`,
        { details: { reasons: [`tensorrt: ${trtReason}`] } },
      );
    }
    return { order: ['tensorrt'], reasons: [] };
  }
  return trtReason === null
    ? { order: ['tensorrt', 'cpu'], reasons: [] }
    : { order: ['cpu'], reasons: [`tensorrt: ${trtReason}`] };
}
