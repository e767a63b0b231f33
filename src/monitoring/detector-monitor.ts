/**
 * Drift monitoring around a Detector, without the server: `createProfile` runs reference images through
 * a detector and builds a profile; `DetectorMonitor` runs detections (asking the detector for the image
 * statistics it measures in the letterbox pass) and feeds every result into a DriftMonitor.
 */
import type { Detector } from '../detector.js';
import type { ImageInput } from '../image/decode.js';
import type { DetectOptions } from '../options.js';
import type { DetectResult } from '../results.js';
import { DriftMonitor, type DriftOptions, type DriftReport } from './drift.js';
import { extractFeatures, type ImageFeatures } from './features.js';
import {
  buildProfile,
  checkProfileModel,
  fileSha256,
  profileModelFile,
  type DriftProfile,
} from './profile.js';

export interface ProfileOptions {
  /** Detection options for the reference run (thresholds should match what serving uses). */
  detect?: Omit<DetectOptions, 'imageStats'>;
  /** Images per detectBatch call. Default 16. */
  batch?: number;
  /** Called after each batch with the number of images done. */
  onProgress?: (done: number, total: number) => void;
}

/** The features of images run through a detector (with native image statistics where it has them). */
export async function collectFeatures(
  detector: Detector,
  inputs: readonly ImageInput[],
  options: ProfileOptions = {},
): Promise<ImageFeatures[]> {
  const batch = options.batch ?? 16;
  const out: ImageFeatures[] = [];
  for (let i = 0; i < inputs.length; i += batch) {
    const results = await detector.detectBatch(inputs.slice(i, i + batch), {
      ...options.detect,
      imageStats: true,
    });
    for (const r of results) out.push(extractFeatures(r));
    options.onProgress?.(Math.min(i + batch, inputs.length), inputs.length);
  }
  return out;
}

/** Builds a drift reference profile of `detector`'s model from reference images. */
export async function createProfile(
  detector: Detector,
  inputs: readonly ImageInput[],
  options: ProfileOptions = {},
): Promise<DriftProfile> {
  const sha256 = await fileSha256(detector.model.path);
  const features = await collectFeatures(detector, inputs, options);
  return buildProfile(features, {
    file: profileModelFile(detector.model.path),
    sha256,
    names: detector.model.names,
  });
}

/** A Detector whose results also feed a drift window. */
export class DetectorMonitor {
  readonly detector: Detector;
  readonly drift: DriftMonitor;

  private constructor(detector: Detector, drift: DriftMonitor) {
    this.detector = detector;
    this.drift = drift;
  }

  /** Checks that the profile belongs to the detector's model (ERR_PROFILE_MODEL_MISMATCH otherwise). */
  static async create(
    detector: Detector,
    profile: DriftProfile,
    options?: DriftOptions,
  ): Promise<DetectorMonitor> {
    checkProfileModel(profile, await fileSha256(detector.model.path), detector.model.path);
    return new DetectorMonitor(detector, new DriftMonitor(profile, options));
  }

  async detect(input: ImageInput, options?: DetectOptions): Promise<DetectResult> {
    const result = await this.detector.detect(input, { ...options, imageStats: true });
    this.drift.observe(extractFeatures(result));
    return result;
  }

  async detectBatch(inputs: readonly ImageInput[], options?: DetectOptions): Promise<DetectResult[]> {
    const results = await this.detector.detectBatch(inputs, { ...options, imageStats: true });
    for (const r of results) this.drift.observe(extractFeatures(r));
    return results;
  }

  /** Letterboxed tensors contribute output features only. */
  async detectTensor(tensor: Float32Array, n: number, options?: DetectOptions): Promise<DetectResult[]> {
    const results = await this.detector.detectTensor(tensor, n, options);
    for (const r of results) this.drift.observe(extractFeatures(r, { tensorInput: true }));
    return results;
  }

  report(): DriftReport {
    return this.drift.report();
  }
}
