/**
 * The CPU backend: native letterbox -> onnxruntime (in worker threads) -> native decode/NMS/scale_boxes.
 *
 * Images are cut into chunks of `maxBatch` (one inference run each). Chunks are pipelined: while chunk k
 * is in inference, chunk k+1 is already being letterboxed, and at most `concurrency + 1` chunks of one
 * call are in flight, which bounds memory however many images a call brings.
 */
import os from 'node:os';
import { YoloTrtError, abortError, invalidOption, optionalIntInRange, throwIfAborted } from '../errors.js';
import type { ModelInfo } from '../model/types.js';
import { callNative, loadNative } from '../native/load.js';
import type { NativeBinding, NativeImage } from '../native/binding.js';
import { checkTensorInput } from './tensor-input.js';
import { batchResults, type Backend, type BackendImageResult, type DetectParams } from './backend.js';
import { OrtWorkerPool } from './onnxruntime-pool.js';
import type { RunOutput } from './onnxruntime-pool.js';

export interface OnnxRuntimeBackendOptions {
  /** onnxruntime sessions, one worker thread each. Default: 1 on <= 4 cores, else cores / 8 (max 8). */
  workers?: number | undefined;
  /** Threads per session for one operator. Default: cores / workers (at least 1). */
  intraOpThreads?: number | undefined;
  /** Threads per session across operators (only used by the parallel executor). Default 1. */
  interOpThreads?: number | undefined;
  /** Images per run for models with a dynamic batch dimension. Default 8. Fixed-batch models use theirs. */
  maxBatch?: number | undefined;
  /** Threads for native letterbox / NMS per chunk. Default: cores, at most 8. */
  preprocessThreads?: number | undefined;
  /** onnxruntime pool threads busy-wait between operators. Default true (see CpuOptions.spinning). */
  spinning?: boolean | undefined;
}

export interface ResolvedOnnxRuntimeOptions {
  workers: number;
  intraOpThreads: number;
  interOpThreads: number;
  maxBatch: number;
  preprocessThreads: number;
  spinning: boolean;
}

/** Images per run for dynamic-batch models when the caller does not say. */
export const DEFAULT_DYNAMIC_MAX_BATCH = 8;
const MAX_WORKERS = 64;
const MAX_THREADS = 1024;

function cores(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/**
 * Defaults sized for the machine. One session with all cores is fastest for one stream on a small box;
 * on a big one a single session stops scaling (a yolo11n run cannot use 64 threads well), so several
 * sessions of ~8 threads run side by side.
 */
export function resolveOnnxRuntimeOptions(
  model: ModelInfo,
  options: OnnxRuntimeBackendOptions = {},
  cpuCount = cores(),
): ResolvedOnnxRuntimeOptions {
  const check = (name: string, v: unknown, max: number) => optionalIntInRange(name, v, 1, max);
  const workers =
    check('cpu.workers', options.workers, MAX_WORKERS) ??
    (cpuCount <= 4 ? 1 : Math.min(8, Math.max(1, Math.floor(cpuCount / 8))));
  const intraOpThreads =
    check('cpu.intraOpThreads', options.intraOpThreads, MAX_THREADS) ??
    Math.max(1, Math.floor(cpuCount / workers));
  const interOpThreads = check('cpu.interOpThreads', options.interOpThreads, MAX_THREADS) ?? 1;
  const requestedBatch = check('cpu.maxBatch', options.maxBatch, 1024);
  // A fixed-batch model takes exactly its batch per run (smaller runs are padded in the worker).
  const maxBatch = model.batch ?? requestedBatch ?? DEFAULT_DYNAMIC_MAX_BATCH;
  const preprocessThreads =
    check('preprocessThreads', options.preprocessThreads, MAX_THREADS) ?? Math.min(8, cpuCount);
  if (options.spinning !== undefined && typeof options.spinning !== 'boolean') {
    throw invalidOption('cpu.spinning', 'true or false', options.spinning);
  }
  const spinning = options.spinning ?? true;
  return { workers, intraOpThreads, interOpThreads, maxBatch, preprocessThreads, spinning };
}

export async function createOnnxRuntimeBackend(
  model: ModelInfo,
  options: OnnxRuntimeBackendOptions = {},
): Promise<Backend> {
  const resolved = resolveOnnxRuntimeOptions(model, options);
  const native = loadNative();
  const pool = new OrtWorkerPool({
    workers: resolved.workers,
    modelPath: model.path,
    inputName: model.inputName,
    outputName: model.outputName,
    inputType: model.inputType,
    fixedBatch: model.batch,
    intraOpThreads: resolved.intraOpThreads,
    interOpThreads: resolved.interOpThreads,
    spinning: resolved.spinning,
  });
  await pool.start();
  return new OnnxRuntimeBackend(model, native, pool, resolved);
}

/** One chunk's letterboxed tensor and the original sizes its boxes are scaled back to. */
interface PreparedChunk {
  tensor: Float32Array | Uint16Array;
  n: number;
  /** [w0, h0] per image. */
  origSizes: Int32Array;
  preprocessMs: number;
  /** Content statistics per image (params.imageStats). */
  stats?: Float64Array | undefined;
}

export class OnnxRuntimeBackend implements Backend {
  readonly name = 'cpu' as const;
  readonly model: ModelInfo;
  readonly maxBatch: number;
  readonly concurrency: number;
  readonly #native: NativeBinding;
  readonly #pool: OrtWorkerPool;
  readonly #options: ResolvedOnnxRuntimeOptions;
  #disposed: Promise<void> | null = null;

  constructor(
    model: ModelInfo,
    native: NativeBinding,
    pool: OrtWorkerPool,
    options: ResolvedOnnxRuntimeOptions,
  ) {
    this.model = model;
    this.#native = native;
    this.#pool = pool;
    this.#options = options;
    this.maxBatch = options.maxBatch;
    this.concurrency = options.workers;
  }

  /** @internal For tests (crash simulation). */
  get pool(): OrtWorkerPool {
    return this.#pool;
  }

  describe(): Record<string, unknown> {
    return {
      backend: 'cpu',
      runtime: 'onnxruntime-node',
      workers: this.#options.workers,
      intraOpThreads: this.#options.intraOpThreads,
      interOpThreads: this.#options.interOpThreads,
      spinning: this.#options.spinning,
      graphOptimizationLevel: 'all',
      maxBatch: this.maxBatch,
      preprocessThreads: this.#options.preprocessThreads,
      inputType: this.model.inputType,
      pool: this.#pool.describe(),
    };
  }

  async detect(
    images: NativeImage[],
    params: DetectParams,
    signal?: AbortSignal,
  ): Promise<BackendImageResult[]> {
    this.#checkUsable();
    throwIfAborted(signal);
    const [h, w] = this.model.imgsz;
    const dtype = this.model.inputType;
    return this.#pipeline(
      images.length,
      signal,
      async (start, end) => {
        const chunk = images.slice(start, end);
        // Letterbox into a recycled buffer: fresh memory costs page faults on first write (14 ms per
        // 640x640 float32 image measured on the dev VM, several times the letterbox itself).
        const output =
          dtype === 'float32'
            ? this.#pool.inputBuffer('float32', chunk.length * 3 * h * w)
            : this.#pool.inputBuffer('float16', chunk.length * 3 * h * w);
        const pre = await callNative(() =>
          this.#native.preprocess(chunk, {
            width: w,
            height: h,
            dtype,
            threads: Math.min(this.#options.preprocessThreads, chunk.length),
            output,
            ...(params.imageStats === true ? { stats: true } : {}),
          }),
        );
        if (!(pre.tensor instanceof Float32Array || pre.tensor instanceof Uint16Array)) {
          throw new YoloTrtError(
            'ERR_INTERNAL',
            `native preprocess returned a ${pre.tensor.constructor.name} for dtype ${dtype}`,
          );
        }
        const origSizes = new Int32Array(chunk.length * 2);
        chunk.forEach((img, i) => {
          origSizes[2 * i] = img.width;
          origSizes[2 * i + 1] = img.height;
        });
        return {
          tensor: pre.tensor,
          n: chunk.length,
          origSizes,
          preprocessMs: pre.msPerImage,
          stats: pre.stats,
        };
      },
      params,
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
    const [h, w] = this.model.imgsz;
    return this.#pipeline(
      n,
      signal,
      async (start, end) => {
        const count = end - start;
        // A copy, because the chunk is transferred to the worker and the caller's buffer must stay intact;
        // into a recycled buffer, one image per macrotask, so the main thread never stalls on it.
        // Float32 is sent as is; the worker narrows it for fp16 models.
        const chunk = this.#pool.inputBuffer('float32', count * plane);
        for (let i = 0; i < count; i++) {
          if (i > 0) await new Promise((resolve) => setImmediate(resolve));
          chunk.set(tensor.subarray((start + i) * plane, (start + i + 1) * plane), i * plane);
        }
        const origSizes = new Int32Array(count * 2);
        for (let i = 0; i < count; i++) {
          origSizes[2 * i] = w;
          origSizes[2 * i + 1] = h;
        }
        return { tensor: chunk, n: count, origSizes, preprocessMs: 0 };
      },
      params,
    );
  }

  dispose(): Promise<void> {
    this.#disposed ??= this.#pool.dispose();
    return this.#disposed;
  }

  #checkUsable(): void {
    if (this.#disposed !== null) throw new YoloTrtError('ERR_DISPOSED', 'The CPU backend has been disposed');
  }

  /**
   * Runs `count` images as chunks of maxBatch through prepare -> inference -> postprocess, with at most
   * concurrency + 1 chunks in flight, and returns the per-image results in order. On the first failure
   * no new chunk starts; the error is thrown once the chunks already running have settled.
   */
  async #pipeline(
    count: number,
    signal: AbortSignal | undefined,
    prepare: (start: number, end: number) => Promise<PreparedChunk>,
    params: DetectParams,
  ): Promise<BackendImageResult[]> {
    const chunkCount = Math.ceil(count / this.maxBatch);
    const results: BackendImageResult[][] = new Array(chunkCount);
    let next = 0;
    let failure: { error: unknown } | null = null;
    const lane = async (): Promise<void> => {
      while (failure === null && next < chunkCount) {
        const k = next++;
        const start = k * this.maxBatch;
        try {
          results[k] = await this.#runChunk(
            () => prepare(start, Math.min(count, start + this.maxBatch)),
            params,
            signal,
          );
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    const lanes = Math.min(chunkCount, this.concurrency + 1);
    await Promise.all(Array.from({ length: lanes }, lane));
    if (failure !== null) throw (failure as { error: unknown }).error;
    return results.flat();
  }

  async #runChunk(
    prepare: () => Promise<PreparedChunk>,
    params: DetectParams,
    signal: AbortSignal | undefined,
  ): Promise<BackendImageResult[]> {
    throwIfAborted(signal);
    const chunk = await prepare();
    throwIfAborted(signal);
    const [h, w] = this.model.imgsz;
    const out = await this.#pool.run({ tensor: chunk.tensor, dims: [chunk.n, 3, h, w] }, signal);
    throwIfAborted(signal);
    this.#checkOutput(out, chunk.n);
    const post = await callNative(() => this.#postprocess(out, chunk.n, chunk.origSizes, params));
    if (signal?.aborted) throw abortError(signal);
    const speed = {
      preprocess: chunk.preprocessMs,
      inference: out.ms / chunk.n,
      postprocess: post.msPerImage,
    };
    return batchResults(post.detections, speed, chunk.stats);
  }

  /** Native postprocess for the model's output layout: classic (decode + NMS) or end-to-end rows. */
  #postprocess(out: RunOutput, n: number, origSizes: Int32Array, params: DetectParams) {
    const [h, w] = this.model.imgsz;
    const common = {
      conf: params.conf,
      iou: params.iou,
      maxDet: params.maxDet,
      agnostic: params.agnostic,
      classes: params.classes === null ? null : Int32Array.from(params.classes),
      inputWidth: w,
      inputHeight: h,
      origSizes,
    };
    if (this.model.endToEnd) {
      return this.#native.postprocessEndToEnd(out.output, {
        ...common,
        dims: [n, out.dims[1]!, 6],
        numClasses: this.model.numClasses,
      });
    }
    return this.#native.postprocess(out.output, {
      ...common,
      dims: [n, this.model.numClasses + 4, this.model.numAnchors],
      threads: Math.min(this.#options.preprocessThreads, n),
    });
  }

  /**
   * The model promised [n, 4 + nc, anchors] (classic) or [n, K, 6] (end-to-end, K fixed or not); a
   * dynamic-shape model could still return something else.
   */
  #checkOutput(out: RunOutput, n: number): void {
    const expected: (number | null)[] = this.model.endToEnd
      ? [n, this.model.outputRows, 6]
      : [n, this.model.numClasses + 4, this.model.numAnchors];
    if (
      out.dims.length !== 3 ||
      out.dims.some((d, i) => expected[i] !== null && d !== expected[i]) ||
      out.output.length !== out.dims.reduce((a, b) => a * b, 1)
    ) {
      throw new YoloTrtError(
        'ERR_INFERENCE',
        `Expected the output of ${this.model.path} to be [${expected.map((d) => d ?? 'K').join(', ')}] but received [${out.dims.join(', ')}]`,
      );
    }
  }
}
