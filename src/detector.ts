import type { Backend, BackendImageResult, BackendName, DetectParams } from './backends/backend.js';
import { createBackend } from './backends/create.js';
import { checkTensorInput } from './backends/tensor-input.js';
import { selectBackend } from './backends/select.js';
import { createTensorRtBackendFromEngine } from './backends/tensorrt.js';
import { YoloTrtError, invalidOption, isYoloTrtError, throwIfAborted } from './errors.js';
import { decodeImage, type DecodedImage, type ImageInput } from './image/decode.js';
import { readModelInfo } from './model/load-model.js';
import type { ModelInfo } from './model/types.js';
import { nativeCapabilities } from './capabilities.js';
import {
  resolveDetectorOptions,
  resolveDetectParams,
  type DetectOptions,
  type DetectorOptions,
  type ResolvedDetectorOptions,
} from './options.js';
import type { DetectResult, Detection } from './results.js';

export type SettledResult = { ok: true; result: DetectResult } | { ok: false; error: YoloTrtError };

/** How the backend was chosen: what was asked, what runs, and why better ones were skipped. */
export interface BackendChoice {
  requested: 'auto' | BackendName;
  name: BackendName;
  reasons: string[];
}

/**
 * A loaded YOLO model ready to detect. Create with `Detector.create`, reuse for many images (it is
 * safe to call concurrently), and `dispose()` when done.
 */
export class Detector {
  readonly model: ModelInfo;
  readonly backendChoice: BackendChoice;
  readonly #backend: Backend;
  readonly #options: ResolvedDetectorOptions;
  #disposed: Promise<void> | null = null;

  private constructor(backend: Backend, options: ResolvedDetectorOptions, choice: BackendChoice) {
    this.#backend = backend;
    this.#options = options;
    this.model = backend.model;
    this.backendChoice = choice;
  }

  static async create(options: DetectorOptions): Promise<Detector> {
    const resolved = resolveDetectorOptions(options);
    throwIfAborted(options.signal);
    if (isEngineFile(resolved.model)) return Detector.#fromEngine(resolved, options);
    const model = await readModelInfo(resolved.model);
    // Default classes are validated against the model's class count now that we know it.
    resolved.defaults = resolveDetectParams(
      resolved.defaults,
      { classes: options.classes },
      model.names.length,
    );
    const selection = selectBackend(resolved.backend, nativeCapabilities());
    const reasons = [...selection.reasons];
    let lastError: unknown;
    for (const name of selection.order) {
      throwIfAborted(options.signal);
      try {
        const backend = await createBackend(name, model, {
          cpu: resolved.cpu,
          preprocessThreads: resolved.preprocessThreads,
          tensorrt: resolved.tensorrt,
          signal: options.signal,
        });
        return new Detector(backend, resolved, { requested: resolved.backend, name, reasons });
      } catch (err) {
        lastError = err;
        // An explicit request, or a model/abort problem, is the caller's answer; only 'auto' falls back.
        if (selection.order.length === 1 || isYoloTrtError(err, 'ABORT_ERR')) throw err;
        reasons.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    throw lastError;
  }

  /** A prebuilt TensorRT engine (.engine / .plan) runs on TensorRT or not at all. */
  static async #fromEngine(resolved: ResolvedDetectorOptions, options: DetectorOptions): Promise<Detector> {
    if (resolved.backend === 'cpu') {
      throw new YoloTrtError(
        'ERR_MODEL_UNSUPPORTED',
        `Model ${resolved.model} is a TensorRT engine: it needs backend 'tensorrt' (for the CPU, pass the .onnx it was built from)`,
      );
    }
    selectBackend('tensorrt', nativeCapabilities()); // throws, with reasons, where TensorRT cannot run
    const backend = await createTensorRtBackendFromEngine(resolved.model, resolved.tensorrt);
    try {
      resolved.defaults = resolveDetectParams(
        resolved.defaults,
        { classes: options.classes },
        backend.model.names.length,
      );
    } catch (err) {
      await backend.dispose();
      throw err;
    }
    return new Detector(backend, resolved, { requested: resolved.backend, name: 'tensorrt', reasons: [] });
  }

  /** The backend running this model. */
  get backend(): BackendName {
    return this.#backend.name;
  }

  /** Images per inference run. */
  get maxBatch(): number {
    return this.#backend.maxBatch;
  }

  /** Inference runs that can execute at once. */
  get concurrency(): number {
    return this.#backend.concurrency;
  }

  get disposed(): boolean {
    return this.#disposed !== null;
  }

  describe(): Record<string, unknown> {
    return { backend: this.backendChoice, model: this.model.path, ...this.#backend.describe() };
  }

  async detect(input: ImageInput, options?: DetectOptions): Promise<DetectResult> {
    const [result] = await this.detectBatch([input], options);
    if (result === undefined) throw new YoloTrtError('ERR_INTERNAL', 'detectBatch returned no result');
    return result;
  }

  /** Detects on many images; rejects with the first failure (see detectBatchSettled for per-image errors). */
  async detectBatch(inputs: readonly ImageInput[], options?: DetectOptions): Promise<DetectResult[]> {
    const settled = await this.#run(inputs, options, true);
    return settled.map((s) => {
      if (!s.ok) throw s.error;
      return s.result;
    });
  }

  /** Like detectBatch, but one bad image does not fail the others. */
  async detectBatchSettled(inputs: readonly ImageInput[], options?: DetectOptions): Promise<SettledResult[]> {
    return this.#run(inputs, options, false);
  }

  /**
   * Runs an already letterboxed float32 tensor [n, 3, H, W] (RGB, 0..1), e.g. from a KServe client.
   * Boxes are in network-input pixels.
   */
  async detectTensor(tensor: Float32Array, n: number, options?: DetectOptions): Promise<DetectResult[]> {
    this.#checkUsable();
    const params = this.#params(options);
    checkTensorInput(tensor, n, this.model);
    const [h, w] = this.model.imgsz;
    const rows = await this.#backend.detectTensor(tensor, n, params, options?.signal);
    return rows.map((r) => this.#toResult(r, w, h));
  }

  async dispose(): Promise<void> {
    this.#disposed ??= this.#backend.dispose();
    return this.#disposed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  #checkUsable(): void {
    if (this.#disposed !== null) throw new YoloTrtError('ERR_DISPOSED', 'This Detector has been disposed');
  }

  #params(options: DetectOptions | undefined): DetectParams {
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      throw invalidOption('options', 'an object', options);
    }
    const signal = options?.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal))
      throw invalidOption('signal', 'an AbortSignal', signal);
    throwIfAborted(signal);
    return resolveDetectParams(this.#options.defaults, options, this.model.names.length);
  }

  async #run(inputs: readonly ImageInput[], options: DetectOptions | undefined, failFast: boolean) {
    this.#checkUsable();
    if (!Array.isArray(inputs)) throw invalidOption('inputs', 'an array of images', inputs);
    const params = this.#params(options);
    const signal = options?.signal;
    const results: SettledResult[] = new Array(inputs.length);
    // Windows of images: decoding window k+1 overlaps inference of window k, and memory stays bounded
    // however many inputs arrive.
    const windowSize = Math.max(4, this.#backend.maxBatch * this.#backend.concurrency * 2);
    const decodeWindow = (start: number) =>
      Promise.all(
        inputs.slice(start, start + windowSize).map((input) =>
          decodeImage(input, {
            limitInputPixels: this.#options.limitInputPixels,
            maxFileBytes: this.#options.maxFileBytes,
          }).then(
            (image): { ok: true; image: DecodedImage } => ({ ok: true, image }),
            (error: unknown) => ({ ok: false as const, error: toYoloError(error) }),
          ),
        ),
      );
    let next = inputs.length > 0 ? decodeWindow(0) : null;
    for (let start = 0; next !== null; start += windowSize) {
      const decoded = await next;
      throwIfAborted(signal);
      next = start + windowSize < inputs.length ? decodeWindow(start + windowSize) : null;
      if (failFast) {
        const bad = decoded.find((d) => !d.ok);
        if (bad !== undefined && !bad.ok) {
          next?.catch(() => undefined);
          throw bad.error;
        }
      }
      const good = decoded.flatMap((d, i) => (d.ok ? [{ i, image: d.image }] : []));
      let rows: BackendImageResult[] = [];
      try {
        if (good.length > 0)
          rows = await this.#backend.detect(
            good.map((g) => g.image),
            params,
            signal,
          );
      } catch (err) {
        const error = toYoloError(err);
        // A failed run fails only its own images in settled mode; abort and dispose end everything.
        if (failFast || error.code === 'ABORT_ERR' || error.code === 'ERR_DISPOSED') {
          next?.catch(() => undefined);
          throw error;
        }
        for (const g of good) results[start + g.i] = { ok: false, error };
        good.length = 0;
      }
      decoded.forEach((d, i) => {
        if (!d.ok) results[start + i] = { ok: false, error: d.error };
      });
      good.forEach((g, k) => {
        const r = rows[k];
        if (r === undefined) throw new YoloTrtError('ERR_INTERNAL', 'backend returned too few results');
        results[start + g.i] = { ok: true, result: this.#toResult(r, g.image.width, g.image.height) };
      });
    }
    return results;
  }

  #toResult(r: BackendImageResult, width: number, height: number): DetectResult {
    const detections: Detection[] = [];
    const names = this.model.names;
    for (let o = 0; o + 6 <= r.rows.length; o += 6) {
      const cls = r.rows[o + 5]!;
      detections.push({
        box: [r.rows[o]!, r.rows[o + 1]!, r.rows[o + 2]!, r.rows[o + 3]!],
        conf: r.rows[o + 4]!,
        cls,
        name: names[cls] ?? `class${cls}`,
      });
    }
    return { detections, width, height, speed: r.speed };
  }
}

function isEngineFile(file: string): boolean {
  return /\.(engine|plan)$/i.test(file);
}

function toYoloError(err: unknown): YoloTrtError {
  if (err instanceof YoloTrtError) return err;
  return new YoloTrtError('ERR_INTERNAL', err instanceof Error ? err.message : String(err), { cause: err });
}
