import { YoloTrtError } from '../errors.js';
import type { DetectResult } from '../results.js';
import { DynamicBatcher, type Settled } from './batcher.js';
import { HttpError } from './http-errors.js';
import type { FailureReason, ServerMetrics } from './metrics.js';
import type { ModelConfig } from './model-config.js';
import { ModelStats, type StageMs } from './model-stats.js';
import type { ServedDetector } from './served-detector.js';
import type { ResultObserver } from './drift-service.js';

/** Per-request thresholds, already validated by the route schemas (the detector re-checks them). */
export interface RequestParams {
  conf?: number;
  iou?: number;
  maxDet?: number;
  classes?: number[];
  agnostic?: boolean;
}

/**
 * One request's work: encoded images, or a letterboxed float tensor [n, 3, H, W]. `mirror` marks a
 * copy run only to compare a candidate version with the primary: its results are not the traffic's, so
 * drift monitoring and capture do not see them.
 */
export type InferJob = (
  | { kind: 'images'; images: Uint8Array[]; params: RequestParams }
  | { kind: 'tensor'; tensor: Float32Array; n: number; params: RequestParams }
) & { mirror?: boolean };

export interface BatchingConfig {
  /** false = every request runs alone (the benchmark's "batching off"). */
  enabled: boolean;
  /** Images per batch; 0 = the detector's maxBatch x concurrency. */
  maxBatchSize: number;
  maxQueueDelayMs: number;
  maxQueueSize: number;
  timeoutMs: number;
  /** Batches running at once; 0 = 2 (one runs while the next one decodes). */
  maxInflightBatches: number;
}

export const DEFAULT_BATCHING: Readonly<BatchingConfig> = {
  enabled: true,
  maxBatchSize: 0,
  maxQueueDelayMs: 0,
  maxQueueSize: 64,
  timeoutMs: 30_000,
  maxInflightBatches: 0,
};

/** What identifies the file a version was loaded from: a reload is skipped when it is unchanged. */
export interface SourceFingerprint {
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
  /** JSON of the effective config: a config change is a change too. */
  config: string;
}

/** Where an instance reports a lost GPU (the server's logger; error level when it has one). */
export interface InstanceLog {
  warn(obj: object, msg: string): void;
  error?(obj: object, msg: string): void;
}

export interface InferOutcome {
  results: DetectResult[];
  queueMs: number;
  batchImages: number;
  requestMs: number;
}

/**
 * One loaded version of one model: its detector, its batcher, its statistics. Requests hold a lease
 * while they use it; a retired instance (swapped out or unloaded) is disposed once the last lease ends.
 */
export class ModelInstance {
  readonly name: string;
  readonly version: string;
  readonly detector: ServedDetector;
  readonly stats: ModelStats;
  readonly fingerprint: SourceFingerprint;
  /** The effective config it was loaded with. */
  readonly config: Readonly<ModelConfig>;
  readonly batching: Readonly<BatchingConfig> & { resolvedMaxBatchSize: number; resolvedInflight: number };
  readonly loadedAt = new Date();
  readonly #batcher: DynamicBatcher<InferJob, DetectResult[]>;
  readonly #metrics: ServerMetrics;
  readonly #labels: { model: string; version: string };
  readonly #log: InstanceLog | undefined;
  #deviceLostNoted = false;
  #leases = 0;
  #leaseWaiters: (() => void)[] = [];
  #retired: Promise<void> | null = null;
  readonly #observer: ResultObserver | undefined;
  readonly #onQueueFull: () => void;
  #queueFullBody: string | undefined;

  constructor(init: {
    name: string;
    version: string;
    detector: ServedDetector;
    batching: BatchingConfig;
    metrics: ServerMetrics;
    fingerprint: SourceFingerprint;
    config: ModelConfig;
    log?: InstanceLog | undefined;
    /** Sees every successful result (drift monitoring); its detector is asked for image statistics. */
    observer?: ResultObserver | undefined;
    /** Called for every request refused because the queue is full (the rate-limited log). */
    onQueueFull?: () => void;
  }) {
    this.#log = init.log;
    this.#observer = init.observer;
    this.name = init.name;
    this.version = init.version;
    this.detector = init.detector;
    this.fingerprint = init.fingerprint;
    this.config = init.config;
    this.#metrics = init.metrics;
    this.#labels = { model: init.name, version: init.version };
    this.#onQueueFull = init.onQueueFull ?? (() => undefined);
    this.stats = new ModelStats(init.name, init.version);
    const b = init.batching;
    const perRun = Math.max(1, init.detector.maxBatch * init.detector.concurrency);
    const resolvedMaxBatchSize = b.enabled ? b.maxBatchSize || perRun : 1;
    // Without batching, let as many single requests run as images would run in batches.
    const resolvedInflight = b.enabled ? b.maxInflightBatches || 2 : b.maxInflightBatches || 2 * perRun;
    this.batching = { ...b, resolvedMaxBatchSize, resolvedInflight };
    this.#batcher = new DynamicBatcher<InferJob, DetectResult[]>({
      maxBatchSize: resolvedMaxBatchSize,
      maxInflightBatches: resolvedInflight,
      maxQueueDelayMs: b.enabled ? b.maxQueueDelayMs : 0,
      maxQueueSize: b.maxQueueSize,
      timeoutMs: b.timeoutMs,
      run: (jobs, signal) => this.#run(jobs, signal),
    });
  }

  /** Requests queued or running on this version. */
  get pending(): number {
    return this.#batcher.pending;
  }

  get retired(): boolean {
    return this.#retired !== null;
  }

  /** Runs the model once on every worker so the first real request does not pay for lazy setup. */
  async warmUp(): Promise<void> {
    const [h, w] = this.detector.model.imgsz;
    const n = Math.max(1, this.detector.maxBatch * this.detector.concurrency);
    const image = { data: new Uint8Array(w * h * 3).fill(114), width: w, height: h, format: 'rgb' as const };
    const settled = await this.detector.detectBatchSettled(new Array(n).fill(image));
    for (const s of settled) if (!s.ok) throw s.error;
  }

  /** The queue has no room: a request arriving now is refused before its body is read. */
  get queueFull(): boolean {
    return this.#batcher.full;
  }

  /**
   * Refuses a request on arrival because the queue is full (see `queueFull`): counted in the stats and
   * metrics as REJECTED, logged in the rate-limited summary. Returns the Retry-After seconds; the body
   * to answer with is `queueFullBody`. No Error is built: under overload this runs for most requests.
   */
  refuseQueueFull(startedAt: number): number {
    const requestMs = performance.now() - startedAt;
    this.stats.failure(requestMs);
    this.#metrics.requestFailed(this.#labels, 'REJECTED', requestMs);
    this.#onQueueFull();
    return this.#batcher.retryAfterSeconds();
  }

  /** The JSON body of a queue-full 503, serialized once. */
  get queueFullBody(): string {
    this.#queueFullBody ??= JSON.stringify({ error: this.#batcher.queueFullMessage, code: 'ERR_QUEUE_FULL' });
    return this.#queueFullBody;
  }

  acquire(): void {
    this.#leases++;
  }

  release(): void {
    if (--this.#leases === 0) {
      const waiters = this.#leaseWaiters;
      this.#leaseWaiters = [];
      for (const w of waiters) w();
    }
  }

  /**
   * Queues one request and records its outcome in the stats and metrics. `startedAt` is when the HTTP
   * request arrived (performance.now()), so request durations include body parsing and decode.
   */
  async infer(job: InferJob, startedAt: number, signal?: AbortSignal): Promise<InferOutcome> {
    const images = job.kind === 'images' ? job.images.length : job.n;
    try {
      const outcome = await this.#batcher.submit(job, { size: images, key: batchKey(job), signal });
      const requestMs = performance.now() - startedAt;
      const stages = sumStages(outcome.value);
      this.stats.success(requestMs, outcome.queueMs, images, stages);
      this.#metrics.requestSucceeded(this.#labels, { requestMs, queueMs: outcome.queueMs, images, stages });
      return {
        results: outcome.value,
        queueMs: outcome.queueMs,
        batchImages: outcome.batchImages,
        requestMs,
      };
    } catch (err) {
      const requestMs = performance.now() - startedAt;
      this.stats.failure(requestMs);
      this.#metrics.requestFailed(this.#labels, failureReason(err), requestMs);
      if (err instanceof HttpError && err.code === 'ERR_QUEUE_FULL') this.#onQueueFull();
      throw err;
    } finally {
      this.#noteDeviceLost();
    }
  }

  /** Serving: not retired and the detector can still run. */
  get healthy(): boolean {
    return this.detector.healthy !== false;
  }

  /** A lost GPU context is logged and counted once per version (an 'auto' detector may run on). */
  #noteDeviceLost(): void {
    const lost = this.detector.deviceLost ?? null;
    if (lost === null || this.#deviceLostNoted) return;
    this.#deviceLostNoted = true;
    this.#metrics.deviceLost(this.#labels);
    const log = this.#log;
    (log?.error ?? log?.warn)?.call(
      log,
      { model: this.name, version: this.version, err: lost, backend: this.detector.backend },
      this.healthy
        ? 'GPU context lost: now running on the CPU; restart the process to use the GPU again'
        : 'GPU context lost: model not ready; restart the process',
    );
  }

  /** Stops new work and disposes the detector once every request holding a lease has finished. */
  retire(): Promise<void> {
    this.#retired ??= (async () => {
      if (this.#leases > 0) await new Promise<void>((resolve) => this.#leaseWaiters.push(resolve));
      this.#batcher.close();
      await this.#batcher.idle();
      await this.detector.dispose();
    })();
    return this.#retired;
  }

  async #run(jobs: InferJob[], signal: AbortSignal): Promise<Settled<DetectResult[]>[]> {
    const first = jobs[0];
    if (first === undefined) return [];
    const options = {
      ...first.params,
      signal,
      ...(this.#observer?.wantsImageStats === true ? { imageStats: true } : {}),
    };
    let perJob: Settled<DetectResult[]>[];
    if (first.kind === 'images') {
      const flat = jobs.flatMap((j) => (j.kind === 'images' ? j.images : []));
      const settled = await this.detector.detectBatchSettled(flat, options);
      let offset = 0;
      perJob = jobs.map((job) => {
        const n = job.kind === 'images' ? job.images.length : 0;
        const mine = settled.slice(offset, (offset += n));
        const bad = mine.findIndex((s) => !s.ok);
        const failed = mine[bad];
        if (failed !== undefined && !failed.ok) return { ok: false, error: forInput(failed.error, bad, n) };
        return { ok: true, value: mine.map((s) => (s.ok ? s.result : (undefined as never))) };
      });
    } else {
      const tensors = jobs.flatMap((j) => (j.kind === 'tensor' ? [j] : []));
      const total = tensors.reduce((a, j) => a + j.n, 0);
      let tensor = tensors[0]!.tensor;
      if (tensors.length > 1) {
        tensor = new Float32Array(tensors.reduce((a, j) => a + j.tensor.length, 0));
        let o = 0;
        for (const j of tensors) {
          tensor.set(j.tensor, o);
          o += j.tensor.length;
        }
      }
      const results = await this.detector.detectTensor(tensor, total, options);
      let offset = 0;
      perJob = tensors.map((j) => ({ ok: true, value: results.slice(offset, (offset += j.n)) }));
    }
    let images = 0;
    const stages: StageMs = { preprocess: 0, inference: 0, postprocess: 0 };
    for (const r of perJob) {
      if (!r.ok) continue;
      for (const res of r.value) {
        images++;
        stages.preprocess += res.speed.preprocess;
        stages.inference += res.speed.inference;
        stages.postprocess += res.speed.postprocess;
        this.#metrics.imageStages(this.#labels, res.speed);
      }
    }
    // Jobs of one batch share their kind, so perJob[i] is jobs[i]'s outcome either way.
    const observer = this.#observer;
    if (observer !== undefined) {
      perJob.forEach((r, i) => {
        const job = jobs[i]!;
        if (r.ok && job.mirror !== true)
          observer.observe(r.value, job.kind === 'tensor', job.kind === 'images' ? job.images : undefined);
      });
    }
    // A batch whose images all failed to decode never reached the model: not an execution.
    if (images > 0) {
      this.stats.batch(images, stages);
      this.#metrics.batchExecuted(this.#labels, images);
    }
    return perJob;
  }
}

/** Requests share a batch only with the same input kind and the same thresholds. */
function batchKey(job: InferJob): string {
  const p = job.params;
  return `${job.kind}|${p.conf}|${p.iou}|${p.maxDet}|${p.classes?.join(',')}|${p.agnostic}`;
}

function sumStages(results: readonly DetectResult[]): StageMs {
  const s: StageMs = { preprocess: 0, inference: 0, postprocess: 0 };
  for (const r of results) {
    s.preprocess += r.speed.preprocess;
    s.inference += r.speed.inference;
    s.postprocess += r.speed.postprocess;
  }
  return s;
}

/** Names the failing image in a multi-image request. */
function forInput(error: unknown, index: number, count: number): unknown {
  if (count <= 1 || !(error instanceof YoloTrtError)) return error;
  return new YoloTrtError(error.code, `image ${index}: ${error.message}`, {
    cause: error,
    details: { ...error.details, index },
  });
}

function failureReason(err: unknown): FailureReason {
  if (err instanceof HttpError) {
    if (err.code === 'ERR_CLIENT_CLOSED') return 'CANCELED';
    if (err.statusCode === 503 || err.statusCode === 504) return 'REJECTED';
  }
  if (err instanceof YoloTrtError) {
    if (err.code === 'ABORT_ERR') return 'CANCELED';
    if (['ERR_INFERENCE', 'ERR_INTERNAL', 'ERR_CUDA', 'ERR_DISPOSED'].includes(err.code)) return 'BACKEND';
  }
  return err instanceof HttpError || err instanceof YoloTrtError ? 'OTHER' : 'BACKEND';
}
