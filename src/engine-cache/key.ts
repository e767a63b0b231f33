/**
 * The plan-cache key. A TensorRT plan only runs on the TensorRT version, GPU model and (for most builds)
 * driver it was built with, and it bakes in the precision, batch profile and workspace. The key hashes all
 * of those with the ONNX file's own hash, so any change picks a different cache entry instead of loading
 * a plan that TensorRT would refuse (or, worse, accept with other results).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

import { invalidOption } from '../errors.js';

export type Precision = 'fp32' | 'fp16' | 'int8';

/** Optimization profile for a dynamic batch dimension; null when the model's batch is fixed. */
export interface BatchProfile {
  min: number;
  opt: number;
  max: number;
}

export interface PlanKeyInputs {
  /** sha256 (hex) of the ONNX file bytes. */
  onnxSha256: string;
  /** TensorRT library version, e.g. '10.3.0'. */
  tensorrtVersion: string;
  /** CUDA runtime the addon was built with, e.g. '12.6'. */
  cudaRuntimeVersion: string;
  /** CUDA driver version found at run time, e.g. '12.8'. */
  cudaDriverVersion: string;
  /** e.g. 'NVIDIA H100 80GB HBM3', 'Orin'. */
  gpuName: string;
  /** e.g. '9.0', '8.7'. */
  computeCapability: string;
  precision: Precision;
  profile: BatchProfile | null;
  /** Builder workspace limit in bytes; null = TensorRT's default. */
  workspaceBytes: number | null;
  /** INT8 only: sha256 of the calibration set (file names and bytes), so another set rebuilds. */
  calibrationSha256?: string | null;
  /**
   * [height, width] the engine is built for, when the ONNX has a dynamic height/width (the imgsz option
   * chooses it); null/absent for fixed-size models, whose keys stay what they were.
   */
  inputSize?: readonly [number, number] | null;
}

/** Bump when the key's meaning changes (a new field, or a change in how plans are built). */
export const PLAN_KEY_SCHEMA = 1;

const SHA256_HEX = /^[0-9a-f]{64}$/;

function requireText(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw invalidOption(name, 'a non-empty string', value);
  return value;
}

function requireCount(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw invalidOption(name, 'a positive integer', value);
  }
  return value;
}

/**
 * The canonical text that is hashed: fixed key order, every field explicit (absent optional fields are
 * null), so equal inputs always give the same key and no field can shadow another.
 */
export function planKeyText(inputs: PlanKeyInputs): string {
  if (!SHA256_HEX.test(inputs.onnxSha256)) {
    throw invalidOption('onnxSha256', 'a lowercase hex sha256', inputs.onnxSha256);
  }
  if (!['fp32', 'fp16', 'int8'].includes(inputs.precision)) {
    throw invalidOption('precision', "one of 'fp32', 'fp16', 'int8'", inputs.precision);
  }
  let profile: [number, number, number] | null = null;
  if (inputs.profile !== null) {
    const min = requireCount('profile.min', inputs.profile.min);
    const opt = requireCount('profile.opt', inputs.profile.opt);
    const max = requireCount('profile.max', inputs.profile.max);
    if (!(min <= opt && opt <= max)) {
      throw invalidOption('profile', 'min <= opt <= max', `${min}/${opt}/${max}`);
    }
    profile = [min, opt, max];
  }
  const workspace = inputs.workspaceBytes;
  if (
    workspace !== null &&
    (typeof workspace !== 'number' || !Number.isInteger(workspace) || workspace < 1)
  ) {
    throw invalidOption('workspaceBytes', 'a positive integer or null', workspace);
  }
  const calibration = inputs.calibrationSha256 ?? null;
  if (calibration !== null && !SHA256_HEX.test(calibration)) {
    throw invalidOption('calibrationSha256', 'a lowercase hex sha256 or null', calibration);
  }
  const size = inputs.inputSize ?? null;
  const inputSize =
    size === null ? null : [requireCount('inputSize[0]', size[0]), requireCount('inputSize[1]', size[1])];
  return JSON.stringify([
    ['schema', PLAN_KEY_SCHEMA],
    ['onnx', inputs.onnxSha256],
    ['tensorrt', requireText('tensorrtVersion', inputs.tensorrtVersion)],
    ['cudaRuntime', requireText('cudaRuntimeVersion', inputs.cudaRuntimeVersion)],
    ['cudaDriver', requireText('cudaDriverVersion', inputs.cudaDriverVersion)],
    ['gpu', requireText('gpuName', inputs.gpuName)],
    ['computeCapability', requireText('computeCapability', inputs.computeCapability)],
    ['precision', inputs.precision],
    ['profile', profile],
    ['workspace', workspace],
    ['calibration', calibration],
    ...(inputSize === null ? [] : [['inputSize', inputSize]]),
  ]);
}

/** The cache key: sha256 (hex) of planKeyText(inputs). */
export function planKey(inputs: PlanKeyInputs): string {
  return sha256Hex(planKeyText(inputs));
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** sha256 (hex) of a file, streamed (ONNX files can be hundreds of MB). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
