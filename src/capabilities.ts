import { tensorrtUnavailableReason } from './backends/select.js';
import type { NativeCapabilities } from './native/binding.js';
import { loadedNativeCandidate, loadNative } from './native/load.js';

export interface Capabilities {
  /** What the native addon was built with and finds at run time; null when it did not load. */
  native: NativeCapabilities | null;
  /** Why the native addon did not load (with the fix), or null. */
  nativeError: string | null;
  /**
   * Which file the addon was loaded from: a prebuild shipped in the package (prebuilds/<platform>-<arch>/),
   * the local source build (build/Release), or YOLO_TRT_NATIVE_PATH / YOLO_TRT_VARIANT ('env'); null when
   * it did not load.
   */
  addon: { source: 'prebuild' | 'local-build' | 'env'; path: string } | null;
  cuda:
    | NativeCapabilities['cuda']
    | { compiled: false; runtimeVersion: null; driver: null; devices: []; error: string };
  tensorrt: NativeCapabilities['tensorrt'];
  backends: {
    cpu: { available: boolean; reason: string | null };
    tensorrt: { available: boolean; reason: string | null };
  };
}

/** The native capabilities, or null when the addon cannot load (the error is in capabilities()). */
export function nativeCapabilities(): NativeCapabilities | null {
  try {
    return loadNative().capabilities();
  } catch {
    return null;
  }
}

/** What this machine and this build can do; never throws. */
export function capabilities(): Capabilities {
  let native: NativeCapabilities | null = null;
  let nativeError: string | null = null;
  try {
    native = loadNative().capabilities();
  } catch (err) {
    nativeError = err instanceof Error ? err.message : String(err);
  }
  const trtReason = tensorrtUnavailableReason(native);
  const from = native === null ? undefined : loadedNativeCandidate();
  return {
    native,
    nativeError,
    addon: from === undefined ? null : { source: from.source, path: from.path },
    cuda: native?.cuda ?? {
      compiled: false,
      runtimeVersion: null,
      driver: null,
      devices: [],
      error: 'native addon not loaded',
    },
    tensorrt: native?.tensorrt ?? { compiled: false, version: null },
    backends: {
      cpu: { available: native !== null, reason: native === null ? nativeError : null },
      tensorrt: { available: trtReason === null, reason: trtReason },
    },
  };
}
