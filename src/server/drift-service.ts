import { Gauge } from 'prom-client';
import { invalidOption } from '../errors.js';
import { DriftMonitor, type DriftOptions, type DriftReport } from '../monitoring/drift.js';
import { extractFeatures } from '../monitoring/features.js';
import { checkProfileModel, fileSha256, loadProfile } from '../monitoring/profile.js';
import type { DetectResult } from '../results.js';
import type { ServerMetrics } from './metrics.js';

/**
 * Drift monitoring of served models (src/monitoring/ does the work; this wires it to the server): one
 * DriftMonitor per model that has a reference profile, fed by every successful inference of that model
 * (any version), read by GET /v2/models/{name}/drift and by the Prometheus gauges
 * yolo_trt_drift_score{model,feature} and yolo_trt_drift_alert{model}.
 */

export interface ServerDriftOptions extends Omit<DriftOptions, 'now'> {
  /** Model name -> reference profile file (yolo-trt profile). */
  references: Record<string, string>;
}

/** What a model instance calls with its successful results, and the encoded images behind them. */
export interface ResultObserver {
  /** Ask the detector for the image statistics measured in the letterbox pass. */
  readonly wantsImageStats: boolean;
  observe(results: readonly DetectResult[], tensorInput: boolean, images?: readonly Uint8Array[]): void;
}

/** Several observers as one (drift and capture of the same model). */
export function combineObservers(...observers: (ResultObserver | undefined)[]): ResultObserver | undefined {
  const list = observers.filter((o): o is ResultObserver => o !== undefined);
  if (list.length <= 1) return list[0];
  return {
    wantsImageStats: list.some((o) => o.wantsImageStats),
    observe: (results, tensorInput, images) => {
      for (const o of list) o.observe(results, tensorInput, images);
    },
  };
}

/** Reports are recomputed at most this often (a scrape and an API call in the same second share one). */
const REPORT_TTL_MS = 1000;

export class DriftService {
  readonly #monitors = new Map<string, DriftMonitor>();
  readonly #cache = new Map<string, { at: number; report: Promise<DriftReport> }>();
  readonly #lastAlert = new Map<string, boolean>();

  private constructor() {}

  /**
   * Loads every reference profile and checks it against the model file it will be compared with
   * (`modelFiles`: served model name -> ONNX path), so a profile of another model fails the start.
   */
  static async create(
    options: ServerDriftOptions,
    modelFiles: ReadonlyMap<string, string>,
    metrics: ServerMetrics,
  ): Promise<DriftService> {
    const service = new DriftService();
    const { references, ...monitorOptions } = options;
    if (typeof references !== 'object' || references === null) {
      throw invalidOption('drift.references', 'an object of model name -> profile file', references);
    }
    for (const [name, file] of Object.entries(references)) {
      const modelFile = modelFiles.get(name);
      if (modelFile === undefined) {
        throw invalidOption(
          `drift reference ${name}`,
          `a model served from a file (--model ${name}=PATH)`,
          name,
        );
      }
      const profile = await loadProfile(file);
      checkProfileModel(profile, await fileSha256(modelFile), modelFile);
      service.#monitors.set(name, new DriftMonitor(profile, monitorOptions));
    }
    if (service.#monitors.size > 0) service.#registerGauges(metrics);
    return service;
  }

  get models(): string[] {
    return [...this.#monitors.keys()];
  }

  has(model: string): boolean {
    return this.#monitors.has(model);
  }

  /** The observer a model's instances report to, or undefined when the model has no reference. */
  observerFor(model: string): ResultObserver | undefined {
    const monitor = this.#monitors.get(model);
    if (monitor === undefined) return undefined;
    return {
      wantsImageStats: true,
      observe: (results, tensorInput) => {
        for (const r of results) monitor.observe(extractFeatures(r, { tensorInput }));
      },
    };
  }

  /** The model's drift report (recomputed at most once a second, off long event-loop stalls). */
  report(model: string): Promise<DriftReport> | undefined {
    const monitor = this.#monitors.get(model);
    if (monitor === undefined) return undefined;
    const now = Date.now();
    const cached = this.#cache.get(model);
    if (cached !== undefined && now - cached.at < REPORT_TTL_MS) return cached.report;
    const report = monitor.reportAsync();
    this.#cache.set(model, { at: now, report });
    report.then((r) => this.#lastAlert.set(model, r.alert)).catch(() => undefined);
    report.catch(() => this.#cache.delete(model));
    return report;
  }

  /** The alert of the model's last computed report (no computation: for the capture policy). */
  lastAlert(model: string): boolean {
    return this.#lastAlert.get(model) ?? false;
  }

  #registerGauges(metrics: ServerMetrics): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client calls collect() with the gauge as `this`
    const service = this;
    const reports = async () =>
      Promise.all(service.models.map(async (m) => ({ model: m, report: await service.report(m)! })));
    new Gauge({
      name: 'yolo_trt_drift_score',
      help: 'Drift score of a feature against the reference profile: PSI, or Jensen-Shannon (bits) for classes',
      labelNames: ['model', 'feature'],
      registers: [metrics.registry],
      async collect() {
        this.reset();
        for (const { model, report } of await reports()) {
          for (const [feature, f] of Object.entries(report.features)) {
            this.set({ model, feature }, f.psi ?? f.js ?? 0);
          }
        }
      },
    });
    new Gauge({
      name: 'yolo_trt_drift_alert',
      help: '1 when the model is in drift alert (significant shift past the alert threshold), else 0',
      labelNames: ['model'],
      registers: [metrics.registry],
      async collect() {
        this.reset();
        for (const { model, report } of await reports()) this.set({ model }, report.alert ? 1 : 0);
      },
    });
    new Gauge({
      name: 'yolo_trt_drift_window_images',
      help: 'Images in the drift window (verdicts start at the minimum window)',
      labelNames: ['model'],
      registers: [metrics.registry],
      async collect() {
        this.reset();
        for (const { model, report } of await reports()) this.set({ model }, report.window);
      },
    });
  }
}
