/**
 * Getting a TensorRT plan for a model: from the cache when an entry for exactly this model + GPU +
 * TensorRT + build settings exists, else built (progress reported, cancellable) and saved atomically.
 * A cached plan that TensorRT refuses is removed and rebuilt by the caller (see tensorrt.ts).
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';

import { YoloTrtError, throwIfAborted } from '../errors.js';
import { decodeImage } from '../image/decode.js';
import type { ModelInfo } from '../model/types.js';
import type { NativeBinding, NativeTensorRt, TrtBuildProgress } from '../native/binding.js';
import { callNative } from '../native/load.js';
import { planKey, sha256File, sha256Hex, type PlanKeyInputs } from '../engine-cache/key.js';
import {
  readCachedPlan,
  readCalibrationCache,
  readTimingCache,
  saveCachedPlan,
  timingCacheId,
  writeCalibrationCache,
  writeTimingCache,
  type PlanMeta,
} from '../engine-cache/store.js';
import type { ResolvedTensorRtOptions } from './tensorrt-options.js';

export interface PlanHooks {
  onProgress?: ((event: TrtBuildProgress) => void) | undefined;
  /** One line per notable step ("building ... (this takes minutes on a Jetson)"). */
  log?: ((line: string) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export interface ObtainedPlan {
  plan: Uint8Array;
  key: string;
  fromCache: boolean;
  meta: PlanMeta | null;
}

/** The addon's TensorRT surface, or a coded error saying why there is none / why it cannot run. */
export function requireTensorRt(native: NativeBinding, device = 0): NativeTensorRt {
  const caps = native.capabilities();
  if (native.tensorrt === undefined || !caps.tensorrt.compiled) {
    throw new YoloTrtError(
      'ERR_BACKEND_UNAVAILABLE',
      `This yolo-trt binary (variant '${caps.variant}') was built without TensorRT. Install a TensorRT variant or build with TensorRT (see docs/gpu.md).`,
    );
  }
  if (caps.cuda.driver === null) {
    throw new YoloTrtError(
      'ERR_NO_CUDA_DRIVER',
      `No usable CUDA driver: ${caps.cuda.error ?? 'unknown reason'}`,
    );
  }
  if (caps.cuda.devices[device] === undefined) {
    throw new YoloTrtError(
      'ERR_BACKEND_UNAVAILABLE',
      `No CUDA device ${device} (found ${caps.cuda.devices.length})${caps.cuda.error ? `: ${caps.cuda.error}` : ''}`,
    );
  }
  return native.tensorrt;
}

/** The cache key inputs for a model on this machine. */
export function planKeyInputs(
  native: NativeBinding,
  onnxSha256: string,
  options: ResolvedTensorRtOptions,
  calibrationSha256: string | null,
): PlanKeyInputs {
  const caps = native.capabilities();
  const dev = caps.cuda.devices[options.device];
  if (dev === undefined || caps.cuda.driver === null || caps.cuda.runtimeVersion === null) {
    throw new YoloTrtError(
      'ERR_BACKEND_UNAVAILABLE',
      `No CUDA device ${options.device} to build an engine for`,
    );
  }
  return {
    onnxSha256,
    tensorrtVersion: native.tensorrt?.version ?? caps.tensorrt.version ?? 'unknown',
    cudaRuntimeVersion: caps.cuda.runtimeVersion,
    cudaDriverVersion: caps.cuda.driver,
    gpuName: dev.name,
    computeCapability: dev.computeCapability,
    precision: options.precision,
    profile: options.profile,
    workspaceBytes: options.workspaceBytes,
    calibrationSha256,
  };
}

const CALIB_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.bmp', '.tif', '.tiff']);

/** Calibration image files, sorted, at most `max`, and a hash identifying the set (names + bytes). */
export async function listCalibrationImages(
  dir: string,
  max: number,
): Promise<{ files: string[]; sha256: string }> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new YoloTrtError(
      'ERR_INVALID_OPTION',
      `Cannot read the calibration folder ${dir}: ${(err as Error).message}`,
    );
  }
  const files = names
    .filter((n) => CALIB_EXTENSIONS.has(extname(n).toLowerCase()))
    .sort()
    .slice(0, max)
    .map((n) => join(dir, n));
  if (files.length === 0) {
    throw new YoloTrtError(
      'ERR_INVALID_OPTION',
      `Expected images in the calibration folder ${dir} but found none`,
    );
  }
  const parts: string[] = [];
  for (const f of files) parts.push(`${f.slice(dir.length + 1)}:${sha256Hex(await readFile(f))}`);
  return { files, sha256: sha256Hex(parts.join('\n')) };
}

/** Calibration tensors made by our own letterbox (native preprocess), exactly what inference will see. */
async function calibrationTensor(
  native: NativeBinding,
  model: ModelInfo,
  files: string[],
): Promise<Float32Array> {
  const [h, w] = model.imgsz;
  const plane = 3 * h * w;
  const out = new Float32Array(files.length * plane);
  for (let i = 0; i < files.length; i++) {
    const image = await decodeImage(files[i] as string);
    const pre = await callNative(() =>
      native.preprocess([image], { width: w, height: h, dtype: 'float32', threads: 1 }),
    );
    out.set(pre.tensor as Float32Array, i * plane);
  }
  return out;
}

/** Reads the cached plan or builds (and caches) one. */
export async function obtainPlan(
  native: NativeBinding,
  model: ModelInfo,
  options: ResolvedTensorRtOptions,
  hooks: PlanHooks = {},
): Promise<ObtainedPlan> {
  const trt = requireTensorRt(native, options.device);
  const modelPath = resolve(model.path);
  const onnxSha256 = await sha256File(modelPath);

  const needsCalibration =
    options.precision === 'int8' && trt.features.int8Calibration && options.calibDir !== null;
  const calib = needsCalibration
    ? await listCalibrationImages(options.calibDir as string, options.calibMaxImages)
    : null;
  const inputs = {
    ...planKeyInputs(native, onnxSha256, options, calib?.sha256 ?? null),
    // A dynamic-H/W ONNX is built at the chosen imgsz: another imgsz is another engine.
    inputSize: model.dynamicHW ? ([model.imgsz[0], model.imgsz[1]] as const) : null,
  };
  const key = planKey(inputs);

  if (!options.rebuild) {
    const cached = await readCachedPlan(options.cacheDir, key);
    if (cached !== null) {
      hooks.log?.(`using cached engine ${key.slice(0, 16)} from ${options.cacheDir}`);
      return { plan: cached, key, fromCache: true, meta: null };
    }
  }
  throwIfAborted(hooks.signal);

  const timingId = timingCacheId(inputs.tensorrtVersion, inputs.gpuName, inputs.computeCapability);
  const calibId = calib === null ? null : sha256Hex(`${onnxSha256}:${calib.sha256}`).slice(0, 32);
  const [onnx, timingCache] = await Promise.all([
    readFile(modelPath),
    readTimingCache(options.cacheDir, timingId),
  ]);
  let calibration = null;
  if (calib !== null && calibId !== null) {
    hooks.log?.(`letterboxing ${calib.files.length} calibration images from ${options.calibDir}`);
    calibration = {
      tensor: await calibrationTensor(native, model, calib.files),
      count: calib.files.length,
      batch: model.batch ?? Math.min(8, options.maxBatch),
      cache: await readCalibrationCache(options.cacheDir, calibId),
    };
  }
  const [h, w] = model.imgsz;
  hooks.log?.(
    `building a TensorRT ${trt.version} ${options.precision} engine for ${modelPath} (batch ${options.profile === null ? model.batch : `1..${options.maxBatch}`}); this takes minutes on a Jetson`,
  );
  const started = performance.now();
  const result = await callNative(async () => {
    const job = trt.buildEngine(
      onnx,
      {
        precision: options.precision,
        inputWidth: w,
        inputHeight: h,
        minBatch: options.profile?.min ?? 1,
        optBatch: options.profile?.opt ?? 1,
        maxBatch: options.profile?.max ?? 1,
        workspaceBytes: options.workspaceBytes ?? 0,
        device: options.device,
        timingCache,
        onnxPath: modelPath,
        calibration,
      },
      hooks.onProgress,
    );
    const onAbort = (): void => job.cancel();
    hooks.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await job.promise;
    } finally {
      hooks.signal?.removeEventListener('abort', onAbort);
    }
  });
  const buildSeconds = (performance.now() - started) / 1000;
  const meta: PlanMeta = {
    key,
    inputs,
    model: modelPath,
    createdAt: new Date().toISOString(),
    buildSeconds: Math.round(buildSeconds * 10) / 10,
    dynamicBatch: result.dynamicBatch,
    quantizedModel: result.quantizedModel,
  };
  await saveCachedPlan(options.cacheDir, key, result.plan, meta);
  if (result.timingCache !== null) await writeTimingCache(options.cacheDir, timingId, result.timingCache);
  if (result.calibrationCache !== null && calibId !== null) {
    await writeCalibrationCache(options.cacheDir, calibId, result.calibrationCache);
  }
  hooks.log?.(`built in ${meta.buildSeconds} s, cached as ${key.slice(0, 16)} in ${options.cacheDir}`);
  return { plan: result.plan, key, fromCache: false, meta };
}
