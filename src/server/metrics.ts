import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { NativeGpuMetrics } from '../native/binding.js';
import { registerGpuMetrics, type GpuMetricsReader, type GpuMetricsTimeouts } from './gpu-metrics.js';
import type { StageMs } from './model-stats.js';

/**
 * Prometheus metrics. Triton's `nv_inference_*` names and units (cumulative microsecond counters,
 * labels `model` and `version`) so existing Triton dashboards work unchanged, plus histograms of our
 * own for percentiles, process metrics, and GPU gauges where a GPU is (./gpu-metrics.ts, enabled by
 * enableGpuMetrics()). Each server has its own registry (tests run several).
 */

export interface ModelLabels {
  model: string;
  version: string;
}

/** Triton's failure reasons. */
export type FailureReason = 'REJECTED' | 'CANCELED' | 'BACKEND' | 'OTHER';

export interface PendingSource {
  (): Iterable<ModelLabels & { pending: number }>;
}

const LATENCY_BUCKETS_S = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10,
];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128];

export class ServerMetrics {
  /** Its own registry, or a host application's (embedded: one /metrics serves both). */
  readonly registry: Registry;
  readonly #success: Counter<'model' | 'version'>;
  readonly #failure: Counter<'model' | 'version' | 'reason'>;
  readonly #count: Counter<'model' | 'version'>;
  readonly #execCount: Counter<'model' | 'version'>;
  readonly #requestUs: Counter<'model' | 'version'>;
  readonly #queueUs: Counter<'model' | 'version'>;
  readonly #inputUs: Counter<'model' | 'version'>;
  readonly #inferUs: Counter<'model' | 'version'>;
  readonly #outputUs: Counter<'model' | 'version'>;
  readonly #requestH: Histogram<'model' | 'version'>;
  readonly #queueH: Histogram<'model' | 'version'>;
  readonly #preH: Histogram<'model' | 'version'>;
  readonly #inferH: Histogram<'model' | 'version'>;
  readonly #postH: Histogram<'model' | 'version'>;
  readonly #batchH: Histogram<'model' | 'version'>;
  readonly #httpH: Histogram<'method' | 'route' | 'status_code'>;
  readonly #loads: Counter<'model' | 'outcome'>;
  readonly #deviceLost: Counter<'model' | 'version'>;
  #pendingSource: PendingSource = () => [];

  constructor(options: { processMetrics?: boolean; registry?: Registry } = {}) {
    this.registry = options.registry ?? new Registry();
    const registers = [this.registry];
    const mv = ['model', 'version'] as const;
    const counter = (name: string, help: string) => new Counter({ name, help, labelNames: mv, registers });
    const histogram = (name: string, help: string, buckets = LATENCY_BUCKETS_S) =>
      new Histogram({ name, help, labelNames: mv, buckets, registers });

    this.#success = counter('nv_inference_request_success', 'Number of successful inference requests');
    this.#failure = new Counter({
      name: 'nv_inference_request_failure',
      help: 'Number of failed inference requests, by reason (REJECTED, CANCELED, BACKEND, OTHER)',
      labelNames: ['model', 'version', 'reason'],
      registers,
    });
    this.#count = counter('nv_inference_count', 'Number of inferences performed (images)');
    this.#execCount = counter(
      'nv_inference_exec_count',
      'Number of batch executions (nv_inference_count / nv_inference_exec_count = mean batch size)',
    );
    this.#requestUs = counter(
      'nv_inference_request_duration_us',
      'Cumulative inference request duration in microseconds (decode, queue and compute included)',
    );
    this.#queueUs = counter('nv_inference_queue_duration_us', 'Cumulative time requests spent queued, us');
    this.#inputUs = counter(
      'nv_inference_compute_input_duration_us',
      'Cumulative compute input (letterbox + tensor) duration, us',
    );
    this.#inferUs = counter('nv_inference_compute_infer_duration_us', 'Cumulative model run duration, us');
    this.#outputUs = counter(
      'nv_inference_compute_output_duration_us',
      'Cumulative compute output (decode boxes + NMS) duration, us',
    );
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client calls collect() with the gauge as `this`
    const self = this;
    new Gauge({
      name: 'nv_inference_pending_request_count',
      help: 'Requests queued or running, per model version',
      labelNames: mv,
      registers,
      collect() {
        this.reset();
        for (const p of self.#pendingSource()) this.set({ model: p.model, version: p.version }, p.pending);
      },
    });

    this.#requestH = histogram(
      'yolo_trt_request_duration_seconds',
      'Inference request duration (end to end in the server)',
    );
    this.#queueH = histogram('yolo_trt_queue_duration_seconds', 'Time a request waited in the batcher queue');
    this.#preH = histogram('yolo_trt_preprocess_duration_seconds', 'Letterbox + tensor time per image');
    this.#inferH = histogram(
      'yolo_trt_inference_duration_seconds',
      'Model run time per image (batch time / batch size)',
    );
    this.#postH = histogram('yolo_trt_postprocess_duration_seconds', 'Box decode + NMS time per image');
    this.#batchH = histogram('yolo_trt_batch_size', 'Images per executed batch', BATCH_BUCKETS);
    this.#httpH = new Histogram({
      name: 'yolo_trt_http_request_duration_seconds',
      help: 'HTTP request duration by route and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.#loads = new Counter({
      name: 'yolo_trt_model_loads_total',
      help: 'Model (re)loads by outcome (loaded, failed, unloaded)',
      labelNames: ['model', 'outcome'],
      registers,
    });

    this.#deviceLost = new Counter({
      name: 'yolo_trt_device_lost_total',
      help: 'Model versions whose GPU context was lost (a sticky CUDA error: the process must restart)',
      labelNames: mv,
      registers,
    });

    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Probes the GPUs once (default: the addon's gpuMetrics()) and, when one is found, adds the
   * `nv_gpu_*` gauges, read on every scrape; on a machine without a GPU nothing is added. Call once.
   * Resolves with the first reading (its `reason` says why there are no GPU metrics).
   */
  enableGpuMetrics(read?: GpuMetricsReader, timeouts?: GpuMetricsTimeouts): Promise<NativeGpuMetrics> {
    return registerGpuMetrics(this.registry, read, timeouts);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  setPendingSource(source: PendingSource): void {
    this.#pendingSource = source;
  }

  requestSucceeded(
    l: ModelLabels,
    t: { requestMs: number; queueMs: number; images: number; stages: StageMs },
  ): void {
    this.#success.inc(l);
    this.#count.inc(l, t.images);
    this.#requestUs.inc(l, Math.round(t.requestMs * 1000));
    this.#queueUs.inc(l, Math.round(t.queueMs * 1000));
    this.#inputUs.inc(l, Math.round(t.stages.preprocess * 1000));
    this.#inferUs.inc(l, Math.round(t.stages.inference * 1000));
    this.#outputUs.inc(l, Math.round(t.stages.postprocess * 1000));
    this.#requestH.observe(l, t.requestMs / 1000);
    this.#queueH.observe(l, t.queueMs / 1000);
  }

  /** Per-image stage times (histograms). */
  imageStages(l: ModelLabels, s: StageMs): void {
    this.#preH.observe(l, s.preprocess / 1000);
    this.#inferH.observe(l, s.inference / 1000);
    this.#postH.observe(l, s.postprocess / 1000);
  }

  requestFailed(l: ModelLabels, reason: FailureReason, requestMs: number): void {
    this.#failure.inc({ ...l, reason });
    this.#requestUs.inc(l, Math.round(requestMs * 1000));
  }

  batchExecuted(l: ModelLabels, images: number): void {
    this.#execCount.inc(l);
    this.#batchH.observe(l, images);
  }

  httpRequest(method: string, route: string, statusCode: number, seconds: number): void {
    this.#httpH.observe({ method, route, status_code: String(statusCode) }, seconds);
  }

  deviceLost(l: ModelLabels): void {
    this.#deviceLost.inc(l);
  }

  modelLoad(model: string, outcome: 'loaded' | 'failed' | 'unloaded'): void {
    this.#loads.inc({ model, outcome });
  }
}
