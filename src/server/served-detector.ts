import type { Detector, SettledResult } from '../detector.js';
import type { ImageInput } from '../image/decode.js';
import type { ModelInfo } from '../model/types.js';
import type { DetectOptions, DetectorOptions } from '../options.js';
import type { DetectResult } from '../results.js';

/**
 * The part of a Detector the server uses. The server is written against this, so tests can serve a
 * fake detector (batching, queueing, swaps) without running a model.
 */
export interface ServedDetector {
  readonly model: ModelInfo;
  readonly backend: string;
  readonly maxBatch: number;
  readonly concurrency: number;
  /** False once the detector cannot run any more (its GPU context is lost and it has no fallback). */
  readonly healthy?: boolean;
  /** The sticky CUDA error that took the GPU away (the process must restart), or null. */
  readonly deviceLost?: string | null;
  detectBatchSettled(inputs: readonly ImageInput[], options?: DetectOptions): Promise<SettledResult[]>;
  detectTensor(tensor: Float32Array, n: number, options?: DetectOptions): Promise<DetectResult[]>;
  dispose(): Promise<void>;
}

/** Creates the detector of one model version (Detector.create in production). */
export type DetectorFactory = (options: DetectorOptions) => Promise<ServedDetector>;

// The real Detector must stay usable as a ServedDetector: this line fails to compile if it drifts.
export const detectorIsServable = (d: Detector): ServedDetector => d;
