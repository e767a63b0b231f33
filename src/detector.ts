import sharp from 'sharp';
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
import type { DetectResult, Detection, ImageStats } from './results.js';
import { IMAGE_STATS_FIELDS } from './native/binding.js';
import { Results, type ResultsContext } from './results/results.js';
import { validate, type ValOptions, type ValResult } from './val/validate.js';
import { iterateSource, type SourceOptions } from './sources/iterate.js';
import { ByteTracker, TRACKER_DEFAULTS, type TrackerOptions } from './track/byte-tracker.js';

/** Options of `stream()`: detection options plus how to read the source. */
export type StreamOptions = DetectOptions & SourceOptions;

/** Options of `track()`: stream options plus ByteTrack's (Ultralytics' bytetrack.yaml defaults). */
export type TrackOptions = StreamOptions & TrackerOptions;

/** One image's outcome in detectBatchSettled (`R` is Results for a Detector; servers may use plain results). */
export type SettledResult<R extends DetectResult = DetectResult> =
  { ok: true; result: R } | { ok: false; error: YoloTrtError };

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
  #choice: BackendChoice;
  #backend: Backend;
  readonly #options: ResolvedDetectorOptions;
  #disposed: Promise<void> | null = null;
  #deviceLost: string | null = null;
  #fallback: Promise<boolean> | null = null;

  private constructor(backend: Backend, options: ResolvedDetectorOptions, choice: BackendChoice) {
    this.#backend = backend;
    this.#options = options;
    this.model = backend.model;
    this.#choice = choice;
  }

  /** How the backend was chosen; after a GPU failure an 'auto' detector reports its CPU fallback here. */
  get backendChoice(): BackendChoice {
    return this.#choice;
  }

  /**
   * False once the backend can no longer run: its GPU context was lost (a sticky CUDA error) and there
   * is no fallback. An 'auto' detector falls back to the CPU and stays healthy; `deviceLost` still says
   * what happened, since only a new process gets the GPU back.
   */
  get healthy(): boolean {
    return (this.#backend.deviceLost ?? null) === null;
  }

  /** The sticky CUDA error that took this detector's GPU away, or null. */
  get deviceLost(): string | null {
    return this.#deviceLost ?? this.#backend.deviceLost ?? null;
  }

  static async create(options: DetectorOptions): Promise<Detector> {
    const resolved = resolveDetectorOptions(options);
    if (options.warmup !== undefined && typeof options.warmup !== 'boolean')
      throw invalidOption('warmup', 'a boolean', options.warmup);
    throwIfAborted(options.signal);
    if (isEngineFile(resolved.model)) return Detector.#fromEngine(resolved, options);
    const model = await readModelInfo(resolved.model, { imgsz: resolved.imgsz });
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
        const detector = new Detector(backend, resolved, { requested: resolved.backend, name, reasons });
        if (options.warmup !== false) await detector.#warmUp();
        return detector;
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
    const backend = await createTensorRtBackendFromEngine(resolved.model, {
      ...resolved.tensorrt,
      imgsz: resolved.imgsz,
    });
    try {
      const own = backend.model.imgsz;
      if (resolved.imgsz !== undefined && (resolved.imgsz[0] !== own[0] || resolved.imgsz[1] !== own[1])) {
        throw new YoloTrtError(
          'ERR_INVALID_OPTION',
          `Engine ${resolved.model} was built for imgsz [${own.join(', ')}] (height, width); imgsz [${resolved.imgsz.join(', ')}] needs an engine built for it`,
          { details: { option: 'imgsz' } },
        );
      }
      resolved.defaults = resolveDetectParams(
        resolved.defaults,
        { classes: options.classes },
        backend.model.names.length,
      );
    } catch (err) {
      await backend.dispose();
      throw err;
    }
    const detector = new Detector(backend, resolved, {
      requested: resolved.backend,
      name: 'tensorrt',
      reasons: [],
    });
    if (options.warmup !== false) await detector.#warmUp();
    return detector;
  }

  /**
   * One full detect (JPEG decode, letterbox, inference, NMS) on a synthetic image of the model's input
   * size, on every worker / context at once. The first run in a process costs 3-10x a steady one
   * (session arenas, fresh tensor pages, decoder start-up); paying it here keeps it out of the first
   * real request and its `speed`. A failure disposes the backend: this model does not run here.
   */
  async #warmUp(): Promise<void> {
    const [h, w] = this.model.imgsz;
    try {
      const jpeg = await sharp({ create: { width: w, height: h, channels: 3, background: '#727272' } })
        .jpeg()
        .toBuffer();
      const copies = Math.max(1, this.#backend.maxBatch * this.#backend.concurrency);
      // Two rounds: onnxruntime's second run is still slow (its arena and thread pool settle then).
      for (let round = 0; round < 2; round++)
        await this.detectBatch(new Array<Uint8Array>(copies).fill(jpeg));
    } catch (err) {
      await this.dispose();
      throw err;
    }
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

  /** The backend's own settings, with `backend` = the choice (requested, name, reasons) and the model path. */
  describe(): Record<string, unknown> {
    // The backend's description names itself ('cpu'); the choice goes last so it is not overwritten.
    return { ...this.#backend.describe(), backend: this.backendChoice, model: this.model.path };
  }

  async detect(input: ImageInput, options?: DetectOptions): Promise<Results> {
    const [result] = await this.detectBatch([input], options);
    if (result === undefined) throw new YoloTrtError('ERR_INTERNAL', 'detectBatch returned no result');
    return result;
  }

  /** Detects on many images; rejects with the first failure (see detectBatchSettled for per-image errors). */
  async detectBatch(inputs: readonly ImageInput[], options?: DetectOptions): Promise<Results[]> {
    const settled = await this.#run(inputs, options, true);
    return settled.map((s) => {
      if (!s.ok) throw s.error;
      return s.result;
    });
  }

  /** Like detectBatch, but one bad image does not fail the others. */
  async detectBatchSettled(
    inputs: readonly ImageInput[],
    options?: DetectOptions,
  ): Promise<SettledResult<Results>[]> {
    return this.#run(inputs, options, false);
  }

  /**
   * Runs an already letterboxed float32 tensor [n, 3, H, W] (RGB, 0..1), e.g. from a KServe client.
   * Boxes are in network-input pixels.
   */
  async detectTensor(tensor: Float32Array, n: number, options?: DetectOptions): Promise<Results[]> {
    this.#checkUsable();
    const params = this.#params(options);
    checkTensorInput(tensor, n, this.model);
    const [h, w] = this.model.imgsz;
    const rows = await this.#withBackend((b) => b.detectTensor(tensor, n, params, options?.signal));
    return rows.map((r) => this.#toResult(r, w, h, { path: 'tensor', names: this.model.names }));
  }

  /**
   * Results for every image or frame of a source, as an async iterator: an image file, a folder or glob,
   * an http(s) image URL, a video file, a stream URL (rtsp, rtmp, http video, HLS) or a webcam ("0",
   * /dev/video0). Frames come as cv2.VideoCapture returns them (BGR, every frame, rotation applied);
   * `vidStride` keeps every n-th. Pull-based: the next frame is read while this one is detected and no
   * further, so a slow consumer slows the reader rather than filling memory. Each result carries
   * `path`, and for video `frame` and `timestamp`. A source that fails or stalls throws ERR_SOURCE;
   * video needs a system ffmpeg (ERR_FFMPEG_NOT_FOUND otherwise).
   */
  async *stream(source: string, options: StreamOptions = {}): AsyncGenerator<Results, void, undefined> {
    this.#checkUsable();
    if (typeof source !== 'string' || source === '')
      throw invalidOption('source', 'a path, glob, URL or webcam index', source);
    const { vidStride, url, stallTimeoutS, openTimeoutS, ffmpegPath, ...detectOptions } = options;
    const items = iterateSource(source, {
      vidStride,
      url,
      stallTimeoutS,
      openTimeoutS,
      ffmpegPath,
      signal: options.signal,
    });
    let next = items.next();
    try {
      for (;;) {
        const item = await next;
        if (item.done === true) return;
        // Read the next frame while this one is detected (one ahead, no more).
        next = items.next();
        const { input, path, frame, timestamp } = item.value;
        const result = await this.detect(input, detectOptions);
        yield result.withContext({ path, frame, timestamp });
      }
    } finally {
      next.catch(() => undefined);
      await items.return(undefined).catch(() => undefined);
    }
  }

  /**
   * `stream()` with ByteTrack: each result's detections carry a persistent `id` (only confirmed tracks
   * matched on that frame are returned, with Kalman-smoothed boxes). As Ultralytics' `model.track()`,
   * detection runs at conf 0.1 unless set, so low-score boxes reach the second association; each new
   * video starts a fresh tracker, while still images are tracked as consecutive frames.
   */
  async *track(source: string, options: TrackOptions = {}): AsyncGenerator<Results, void, undefined> {
    const trackerOptions: TrackerOptions = {};
    const streamOptions: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(options)) {
      if (k in TRACKER_DEFAULTS) (trackerOptions as Record<string, unknown>)[k] = v;
      else streamOptions[k] = v;
    }
    const tracker = new ByteTracker(trackerOptions);
    let video: string | undefined;
    for await (const r of this.stream(source, { conf: 0.1, ...(streamOptions as StreamOptions) })) {
      if (r.frame !== undefined && r.path !== video) {
        if (video !== undefined) tracker.reset();
        video = r.path;
      }
      yield r.withDetections(tracker.update(r.detections));
    }
  }

  /**
   * Accuracy on a YOLO-format labelled dataset (a data.yaml or a folder with images/ and labels/):
   * precision, recall, mAP50 and mAP50-95, overall and per class, with Ultralytics' validation settings
   * (conf 0.001, iou 0.7, max_det 300) unless overridden.
   */
  async val(data: string, options?: ValOptions): Promise<ValResult> {
    this.#checkUsable();
    if (typeof data !== 'string' || data === '')
      throw invalidOption('data', 'a data.yaml path or a dataset folder', data);
    return validate(this, data, options);
  }

  async dispose(): Promise<void> {
    this.#disposed ??= (async () => {
      await this.#fallback;
      await this.#backend.dispose();
    })();
    return this.#disposed;
  }

  /**
   * Runs one backend call. When it fails because the GPU context is lost and this detector was created
   * with backend 'auto', the detector switches to the CPU backend (once) and reruns the call there.
   */
  async #withBackend<T>(call: (backend: Backend) => Promise<T>): Promise<T> {
    const backend = this.#backend;
    try {
      return await call(backend);
    } catch (err) {
      const lost = backend.deviceLost ?? null;
      if (lost === null) throw err;
      this.#deviceLost ??= lost;
      if (!(await this.#fallBackToCpu(backend, lost))) throw err;
      return call(this.#backend);
    }
  }

  #fallBackToCpu(lostBackend: Backend, reason: string): Promise<boolean> {
    if (this.#choice.requested !== 'auto' || isEngineFile(this.model.path) || this.#disposed !== null) {
      return Promise.resolve(false);
    }
    this.#fallback ??= (async () => {
      try {
        const cpu = await createBackend('cpu', this.model, {
          cpu: this.#options.cpu,
          preprocessThreads: this.#options.preprocessThreads,
        });
        this.#backend = cpu;
        this.#choice = {
          requested: this.#choice.requested,
          name: 'cpu',
          reasons: [...this.#choice.reasons, `tensorrt: ${reason}`],
        };
        // Its own calls are failing fast now; freeing it must not hold up the fallback.
        lostBackend.dispose().catch(() => undefined);
        return true;
      } catch {
        return false;
      }
    })();
    return this.#fallback;
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
    const results: SettledResult<Results>[] = new Array(inputs.length);
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
          rows = await this.#withBackend((b) =>
            b.detect(
              good.map((g) => g.image),
              params,
              signal,
            ),
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
        results[start + g.i] = {
          ok: true,
          result: this.#toResult(r, g.image.width, g.image.height, {
            path: g.image.source,
            names: this.model.names,
            image: g.image,
          }),
        };
      });
    }
    return results;
  }

  #toResult(r: BackendImageResult, width: number, height: number, context: ResultsContext): Results {
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
    const base: DetectResult = { detections, width, height, speed: r.speed };
    if (r.imageStats !== undefined) base.imageStats = toImageStats(r.imageStats);
    return new Results(base, context);
  }
}

function toImageStats(values: Float64Array): ImageStats {
  const stats = {} as Record<(typeof IMAGE_STATS_FIELDS)[number], number>;
  IMAGE_STATS_FIELDS.forEach((field, i) => (stats[field] = values[i] ?? Number.NaN));
  return stats;
}

function isEngineFile(file: string): boolean {
  return /\.(engine|plan)$/i.test(file);
}

function toYoloError(err: unknown): YoloTrtError {
  if (err instanceof YoloTrtError) return err;
  return new YoloTrtError('ERR_INTERNAL', err instanceof Error ? err.message : String(err), { cause: err });
}
