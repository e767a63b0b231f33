import { Counter } from 'prom-client';
import { invalidOption } from '../errors.js';
import { CaptureSink, type CapturePolicies } from '../monitoring/capture.js';
import type { DetectResult } from '../results.js';
import type { ResultObserver } from './drift-service.js';
import type { ServerMetrics } from './metrics.js';

/**
 * Capture for retraining in the server (src/monitoring/capture.ts does the work): per model, a bounded
 * Ultralytics dataset directory fed with the images of successful requests that the model's policies
 * pick. Offered after the response's results exist, decided synchronously, written by the sink's own
 * writer: requests never wait for the disk; a full queue drops (yolo_trt_capture_dropped_total).
 */

export interface ModelCaptureOptions extends CapturePolicies {
  dir: string;
  maxFiles?: number;
  maxBytes?: number;
  queueSize?: number;
}

/** Model name -> its capture settings. */
export type ServerCaptureOptions = Record<string, ModelCaptureOptions>;

const POLICY_KEYS = ['rate', 'lowConfidence', 'driftAlert', 'classQuota'] as const;

export class CaptureService {
  readonly #options: ServerCaptureOptions;
  readonly #sinks = new Map<string, CaptureSink>();
  readonly #driftAlert: (model: string) => boolean;

  constructor(options: ServerCaptureOptions, metrics: ServerMetrics, driftAlert: (model: string) => boolean) {
    if (typeof options !== 'object' || options === null) throw invalidOption('capture', 'an object', options);
    for (const [name, o] of Object.entries(options)) {
      if (typeof o !== 'object' || o === null || typeof o.dir !== 'string' || o.dir === '') {
        throw invalidOption(`capture.${name}`, 'an object with dir and policies', o);
      }
    }
    this.#options = options;
    this.#driftAlert = driftAlert;
    this.#registerMetrics(metrics);
  }

  has(model: string): boolean {
    return this.#options[model] !== undefined;
  }

  /** Opens the model's dataset directory once its class names are known (after the first load). */
  async open(model: string, names: readonly string[]): Promise<void> {
    const o = this.#options[model];
    if (o === undefined || this.#sinks.has(model)) return;
    const policies: CapturePolicies = {};
    for (const k of POLICY_KEYS) if (o[k] !== undefined) (policies as Record<string, unknown>)[k] = o[k];
    this.#sinks.set(
      model,
      await CaptureSink.open({
        dir: o.dir,
        names,
        policies,
        ...(o.maxFiles === undefined ? {} : { maxFiles: o.maxFiles }),
        ...(o.maxBytes === undefined ? {} : { maxBytes: o.maxBytes }),
        ...(o.queueSize === undefined ? {} : { queueSize: o.queueSize }),
      }),
    );
  }

  observerFor(model: string): ResultObserver | undefined {
    if (!this.has(model)) return undefined;
    return {
      wantsImageStats: false,
      observe: (results: readonly DetectResult[], _tensorInput: boolean, images?: readonly Uint8Array[]) => {
        const sink = this.#sinks.get(model);
        if (sink === undefined || images === undefined) return; // tensors have no image to keep
        const driftAlert = this.#driftAlert(model);
        results.forEach((r, i) => {
          const image = images[i];
          if (image !== undefined) sink.offer(image, r, { driftAlert });
        });
      },
    };
  }

  async flush(): Promise<void> {
    await Promise.all([...this.#sinks.values()].map((s) => s.flush()));
  }

  #registerMetrics(metrics: ServerMetrics): void {
    const sinks = this.#sinks;
    new Counter({
      name: 'yolo_trt_capture_total',
      help: 'Images captured for retraining, by the policy that picked them',
      labelNames: ['model', 'reason'],
      registers: [metrics.registry],
      collect() {
        this.reset();
        for (const [model, sink] of sinks) {
          for (const [reason, n] of Object.entries(sink.stats.byReason)) this.inc({ model, reason }, n);
        }
      },
    });
    new Counter({
      name: 'yolo_trt_capture_dropped_total',
      help: 'Captures dropped because the write queue was full (capture never delays requests)',
      labelNames: ['model'],
      registers: [metrics.registry],
      collect() {
        this.reset();
        for (const [model, sink] of sinks) this.inc({ model }, sink.stats.dropped);
      },
    });
  }
}
