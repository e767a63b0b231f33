/**
 * The TensorRT backend: the whole pipeline on the GPU (pinned upload of uint8 pixels, letterbox kernel
 * into the engine's input, enqueueV3, decode/NMS kernels, download of the rows), one native call per chunk
 * of images. Only constructible where the addon was built with TensorRT and a driver and device are there.
 *
 * Concurrency: the native engine holds `contexts` execution slots (each its own stream and buffers).
 * Calls beyond that wait here, in JS, for a slot, so no libuv worker thread sits blocked in native code.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

import { YoloTrtError, isYoloTrtError, throwIfAborted } from '../errors.js';
import { engineHints, splitEngineFile, type EngineHints } from '../model/engine-file.js';
import { anchorCount } from '../model/load-model.js';
import type { ModelInfo } from '../model/types.js';
import {
  type GpuDetectParams,
  type GpuDetectResult,
  type NativeBinding,
  type NativeImage,
  type NativeTrtEngine,
  type TrtBuildProgress,
  type TrtLoadOptions,
} from '../native/binding.js';
import { callNative, loadNative } from '../native/load.js';
import { removeCachedPlan } from '../engine-cache/store.js';
import { checkTensorInput } from './tensor-input.js';
import { batchResults, type Backend, type BackendImageResult, type DetectParams } from './backend.js';
import { obtainPlan, requireTensorRt, type ObtainedPlan } from './tensorrt-plan.js';
import {
  resolveTensorRtOptions,
  resolveTrtMaxDet,
  DEFAULT_TRT_MAX_DET,
  type ResolvedTensorRtOptions,
  type TensorRtOptions,
} from './tensorrt-options.js';

export type { TensorRtOptions } from './tensorrt-options.js';

export interface TensorRtBackendHooks {
  onProgress?: ((event: TrtBuildProgress) => void) | undefined;
  log?: ((line: string) => void) | undefined;
  signal?: AbortSignal | undefined;
}

/** A counting semaphore: at most `size` holders; the others wait in FIFO order. */
class Slots {
  #free: number;
  readonly #waiting: (() => void)[] = [];
  constructor(size: number) {
    this.#free = size;
  }
  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((resolveWait) => this.#waiting.push(resolveWait));
  }
  release(): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next();
    else this.#free++;
  }
}

/** True for a native rejection that says the process's CUDA context is lost (`deviceLost: true`). */
export function isDeviceLostError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    if ((e as { deviceLost?: unknown }).deviceLost === true) return true;
    if (isYoloTrtError(e) && e.details?.['deviceLost'] === true) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

function deviceLostError(message: string, cause?: unknown): YoloTrtError {
  return new YoloTrtError('ERR_CUDA', message, { cause, details: { deviceLost: true } });
}

/**
 * The per-call maxDet must fit the buffers the engine was loaded with (tensorrt.maxDet). imageStats is
 * passed on for pixel inputs only (a letterboxed tensor has no original pixels).
 */
function toGpuParams(params: DetectParams, limit: number, pixels: boolean): GpuDetectParams {
  if (params.maxDet > limit) {
    throw new YoloTrtError(
      'ERR_INVALID_OPTION',
      `Expected maxDet <= ${limit}, this TensorRT detector's limit (the tensorrt.maxDet create option), but received ${params.maxDet}`,
      { details: { option: 'maxDet', limit } },
    );
  }
  return {
    conf: params.conf,
    iou: params.iou,
    maxDet: params.maxDet,
    agnostic: params.agnostic,
    classes: params.classes === null ? null : Int32Array.from(params.classes),
    ...(pixels && params.imageStats === true ? { imageStats: true } : {}),
  };
}

function perImage(result: GpuDetectResult, n: number): BackendImageResult[] {
  const speed = {
    preprocess: result.timing.preprocess / n,
    inference: result.timing.inference / n,
    postprocess: result.timing.postprocess / n,
  };
  return batchResults(result.detections.slice(0, n), speed, result.stats);
}

export class TensorRtBackend implements Backend {
  readonly name = 'tensorrt' as const;
  readonly model: ModelInfo;
  readonly maxBatch: number;
  readonly concurrency: number;
  readonly #engine: NativeTrtEngine;
  readonly #slots: Slots;
  readonly #details: Record<string, unknown>;
  readonly #inFlight = new Set<Promise<unknown>>();
  #disposed: Promise<void> | null = null;
  #deviceLost: string | null = null;

  constructor(model: ModelInfo, engine: NativeTrtEngine, details: Record<string, unknown>) {
    this.model = model;
    this.#engine = engine;
    this.maxBatch = engine.info.batch;
    this.concurrency = engine.info.contexts;
    this.#slots = new Slots(engine.info.contexts);
    this.#details = details;
  }

  get deviceLost(): string | null {
    return this.#deviceLost;
  }

  /** The largest per-call maxDet (tensorrt.maxDet at load). */
  get maxDetLimit(): number {
    return this.#engine.info.maxDet ?? DEFAULT_TRT_MAX_DET;
  }

  describe(): Record<string, unknown> {
    return {
      backend: 'tensorrt',
      ...this.#details,
      engine: this.#engine.info,
      ...(this.#deviceLost !== null ? { deviceLost: this.#deviceLost } : {}),
    };
  }

  async detect(
    images: NativeImage[],
    params: DetectParams,
    signal?: AbortSignal,
  ): Promise<BackendImageResult[]> {
    this.#checkUsable();
    throwIfAborted(signal);
    const gpu = toGpuParams(params, this.maxDetLimit, true);
    return this.#chunks(images.length, signal, (start, end) =>
      this.#engine.detect(images.slice(start, end), gpu),
    );
  }

  async detectTensor(
    tensor: Float32Array,
    n: number,
    params: DetectParams,
    signal?: AbortSignal,
  ): Promise<BackendImageResult[]> {
    this.#checkUsable();
    throwIfAborted(signal);
    const plane = checkTensorInput(tensor, n, this.model);
    const gpu = toGpuParams(params, this.maxDetLimit, false);
    return this.#chunks(n, signal, (start, end) =>
      this.#engine.detectTensor(tensor.subarray(start * plane, end * plane), end - start, gpu),
    );
  }

  dispose(): Promise<void> {
    this.#disposed ??= (async () => {
      // Calls already running finish first; then contexts, buffers and the engine are freed natively.
      await Promise.allSettled([...this.#inFlight]);
      await callNative(() => this.#engine.dispose());
    })();
    return this.#disposed;
  }

  #checkUsable(): void {
    if (this.#disposed !== null)
      throw new YoloTrtError('ERR_DISPOSED', 'The TensorRT backend has been disposed');
    if (this.#deviceLost !== null) {
      throw deviceLostError(
        `The CUDA device context of this process was lost (${this.#deviceLost}); restart the process to use the GPU again`,
      );
    }
  }

  /** A sticky CUDA error marks this backend broken for good; other errors pass through unchanged. */
  #noteFailure(err: unknown): unknown {
    if (!isDeviceLostError(err)) return err;
    const message = err instanceof Error ? err.message : String(err);
    this.#deviceLost ??= message;
    return deviceLostError(message, err);
  }

  /** Runs `count` items as chunks of maxBatch, up to `concurrency` at once, results in order. */
  async #chunks(
    count: number,
    signal: AbortSignal | undefined,
    run: (start: number, end: number) => Promise<GpuDetectResult>,
  ): Promise<BackendImageResult[]> {
    const starts: number[] = [];
    for (let s = 0; s < count; s += this.maxBatch) starts.push(s);
    const work = Promise.all(
      starts.map(async (start) => {
        const end = Math.min(count, start + this.maxBatch);
        await this.#slots.acquire();
        try {
          throwIfAborted(signal);
          this.#checkUsable();
          return perImage(await callNative(() => run(start, end)), end - start);
        } catch (err) {
          throw this.#noteFailure(err);
        } finally {
          this.#slots.release();
        }
      }),
    );
    this.#inFlight.add(work);
    try {
      return (await work).flat();
    } finally {
      this.#inFlight.delete(work);
    }
  }
}

async function loadWithContexts(
  native: NativeBinding,
  plan: Uint8Array,
  options: ResolvedTensorRtOptions,
  maxBatch: number,
  model: ModelInfo,
): Promise<NativeTrtEngine> {
  const trt = requireTensorRt(native, options.device);
  return callNative(() =>
    trt.loadEngine(plan, {
      contexts: options.contexts,
      maxBatch,
      device: options.device,
      maxDet: options.maxDet,
      imgsz: [model.imgsz[0], model.imgsz[1]],
      endToEnd: model.endToEnd,
      numClasses: model.numClasses,
    }),
  );
}

/** The output the model promises: [4 + nc, anchors], or end-to-end [K, 6] (K fixed or not). */
export function checkEngineMatchesModel(model: ModelInfo, engine: NativeTrtEngine): void {
  const info = engine.info;
  const [h, w] = model.imgsz;
  const output = model.endToEnd
    ? info.endToEnd && info.anchors === 6 && (model.outputRows === null || info.channels === model.outputRows)
    : !info.endToEnd && info.channels === 4 + model.numClasses && info.anchors === model.numAnchors;
  if (info.width !== w || info.height !== h || !output) {
    const expected = model.endToEnd
      ? `[${model.outputRows ?? 'K'}, 6] end-to-end`
      : `[${4 + model.numClasses}, ${model.numAnchors}]`;
    throw new YoloTrtError(
      'ERR_ENGINE_INCOMPATIBLE',
      `The engine's input ${info.width}x${info.height} / output [${info.channels}, ${info.anchors}]${info.endToEnd ? ' end-to-end' : ''} does not match the model (${w}x${h}, ${expected})`,
    );
  }
}

/**
 * The TensorRT backend for an ONNX model: a cached plan when one fits, else a fresh build (progress via
 * hooks.onProgress; hooks.signal cancels). A cached plan that TensorRT refuses (another version, corrupt)
 * is removed and rebuilt once; it never crashes the process.
 */
export async function createTensorRtBackend(
  model: ModelInfo,
  options: TensorRtOptions = {},
  hooks: TensorRtBackendHooks = {},
  native: NativeBinding = loadNative(),
): Promise<Backend> {
  const trt = requireTensorRt(native, options.device ?? 0);
  const resolved = resolveTensorRtOptions(model, options, process.env, trt.features.stronglyTyped);
  let obtained: ObtainedPlan = await obtainPlan(native, model, resolved, hooks);
  let engine: NativeTrtEngine;
  try {
    engine = await loadWithContexts(native, obtained.plan, resolved, resolved.maxBatch, model);
  } catch (err) {
    if (!obtained.fromCache || !isYoloTrtError(err)) throw err;
    if (err.code !== 'ERR_ENGINE_INCOMPATIBLE' && err.code !== 'ERR_MODEL_LOAD') throw err;
    hooks.log?.(`cached engine ${obtained.key.slice(0, 16)} cannot be used (${err.message}); rebuilding`);
    await removeCachedPlan(resolved.cacheDir, obtained.key);
    obtained = await obtainPlan(native, model, { ...resolved, rebuild: true }, hooks);
    engine = await loadWithContexts(native, obtained.plan, resolved, resolved.maxBatch, model);
  }
  try {
    checkEngineMatchesModel(model, engine);
  } catch (err) {
    await engine.dispose();
    throw err;
  }
  return new TensorRtBackend(model, engine, {
    tensorrtVersion: trt.version,
    precision: resolved.precision,
    planKey: obtained.key,
    planFromCache: obtained.fromCache,
    cacheDir: resolved.cacheDir,
    buildSeconds: obtained.meta?.buildSeconds ?? null,
    contexts: resolved.contexts,
    device: resolved.device,
  });
}

/**
 * ModelInfo for a TensorRT engine file (an Ultralytics .engine with its JSON header, or a bare plan):
 * the header's names/imgsz/stride when present, the engine's tensors for the rest.
 */
export function engineModelInfo(
  path: string,
  metadata: Record<string, unknown> | null,
  engine: NativeTrtEngine,
): ModelInfo {
  const hints = metadata === null ? {} : engineHints(metadata);
  const info = engine.info;
  refuseEngineTask(path, hints);
  const nc = info.endToEnd ? info.numClasses : info.channels - 4;
  const namesFit = hints.names !== undefined && hints.names.length === nc;
  const names = namesFit ? (hints.names as string[]) : Array.from({ length: nc }, (_, i) => `class${i}`);
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata ?? {})) raw[k] = typeof v === 'string' ? v : JSON.stringify(v);
  const stride = hints.stride ?? 32;
  return {
    path,
    names,
    imgsz: [info.height, info.width],
    stride,
    task: 'detect',
    batch: info.dynamicBatch ? null : info.maxBatch,
    inputName: info.inputName,
    outputName: info.outputName,
    inputType: info.inputType,
    numClasses: nc,
    numAnchors: info.endToEnd ? anchorCount([info.height, info.width], stride) : info.anchors,
    endToEnd: info.endToEnd,
    outputRows: info.endToEnd ? info.channels : null,
    ignoredOptions: info.endToEnd ? ['iou', 'agnostic'] : [],
    dynamicHW: hints.dynamic === true,
    metadata: raw,
    source: {
      names: namesFit ? 'metadata' : info.endToEnd ? 'default' : 'shape',
      imgsz: 'shape',
      endToEnd: info.endToEnd ? (hints.endToEnd === true ? 'metadata end2end' : 'shape') : null,
    },
  };
}

/** Only detect engines run; the header's task says what the others are, before any GPU memory is spent. */
function refuseEngineTask(path: string, hints: EngineHints): void {
  if (hints.task !== undefined && hints.task !== 'detect') {
    throw new YoloTrtError(
      'ERR_TASK_UNSUPPORTED',
      `Engine ${path} is a '${hints.task}'${hints.endToEnd === true ? ' end-to-end' : ''} model; yolo-trt runs detect models`,
      { details: { path, task: hints.task } },
    );
  }
}

/**
 * What loadEngine needs from an engine file's header: the size to run a dynamic=True engine at (the
 * caller's imgsz, else the header's), whether the output is end-to-end, and how many classes an
 * end-to-end model has (its output does not say: Ultralytics' default is 999 unnamed classes).
 */
export function engineLoadHints(
  hints: EngineHints,
  imgsz: readonly [number, number] | undefined,
): Pick<TrtLoadOptions, 'imgsz' | 'endToEnd' | 'numClasses'> {
  const out: Pick<TrtLoadOptions, 'imgsz' | 'endToEnd' | 'numClasses'> = {};
  if (imgsz !== undefined) out.imgsz = [imgsz[0], imgsz[1]];
  else if (hints.dynamic === true && hints.imgsz !== undefined) out.imgsz = hints.imgsz;
  if (hints.endToEnd !== undefined) out.endToEnd = hints.endToEnd;
  out.numClasses = hints.names?.length ?? DEFAULT_CLASS_COUNT;
  return out;
}

/** Ultralytics' default_class_names: class0..class998 when a model carries no names. */
const DEFAULT_CLASS_COUNT = 999;

/**
 * The TensorRT backend for a prebuilt engine file (Ultralytics .engine or a bare plan). Nothing is
 * cached or rebuilt: an engine from another TensorRT version or GPU is refused with ERR_ENGINE_INCOMPATIBLE
 * (rebuild it from the ONNX).
 */
export async function createTensorRtBackendFromEngine(
  enginePath: string,
  options: Pick<TensorRtOptions, 'contexts' | 'device' | 'maxBatch' | 'maxDet'> & {
    imgsz?: readonly [number, number] | undefined;
  } = {},
  native: NativeBinding = loadNative(),
): Promise<Backend> {
  const file = resolve(enginePath);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new YoloTrtError('ERR_MODEL_NOT_FOUND', `Cannot read engine ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const split = splitEngineFile(bytes, file);
  const hints = split.metadata === null ? {} : engineHints(split.metadata);
  refuseEngineTask(file, hints);
  const trt = requireTensorRt(native, options.device ?? 0);
  const engine = await callNative(() =>
    trt.loadEngine(split.plan, {
      contexts: options.contexts ?? 2,
      maxBatch: options.maxBatch ?? 0,
      maxDet: resolveTrtMaxDet(options.maxDet),
      device: options.device ?? 0,
      ...engineLoadHints(hints, options.imgsz),
    }),
  );
  let model: ModelInfo;
  try {
    model = engineModelInfo(file, split.metadata, engine);
  } catch (err) {
    await engine.dispose();
    throw err;
  }
  return new TensorRtBackend(model, engine, {
    tensorrtVersion: trt.version,
    engineFile: file,
    format: split.kind,
  });
}
