/**
 * Live drift: a sliding window of recent images' features (by count and, optionally, by age) compared
 * with a reference profile. Continuous features are scored with PSI, the class mix with Jensen-Shannon.
 * A score alone does not make a verdict: small samples inflate PSI (see statistics.ts), so a feature is
 * in 'alert' only when its score crosses the alert threshold AND the difference is significant, either
 * on its own after adjusting for the number of features, or as part of a window that differs
 * significantly as a whole (permutation tests, comparison.ts). 'warn' is the same with the warn threshold. That keeps a 25-image window against a 25-image reference quiet
 * on images of the same distribution while strong shifts still alert (docs/monitoring.md has the table).
 */
import { invalidOption } from '../errors.js';
import {
  CLASS_FEATURE,
  CONTINUOUS_FEATURES,
  PER_DETECTION_FEATURES,
  type ContinuousFeature,
  type ImageFeatures,
} from './features.js';
import { binImage, type DriftProfile } from './profile.js';
import { compare, compareAsync, type Comparison, type FeatureSpec } from './comparison.js';

export type DriftStatus = 'ok' | 'warn' | 'alert';

export interface Thresholds {
  warn: number;
  alert: number;
}

export const DEFAULT_WINDOW = 500;
export const DEFAULT_MIN_WINDOW = 25;
/** Window and reference sizes below this cannot give a verdict at all. */
export const SMALLEST_MIN_WINDOW = 10;
export const DEFAULT_THRESHOLDS: Readonly<Thresholds> = { warn: 0.1, alert: 0.25 };
export const DEFAULT_ALPHA = 0.05;
export const DEFAULT_PERMUTATIONS = 200;

export interface DriftOptions {
  /** Most recent images kept. Default 500. */
  window?: number;
  /** Also forget images older than this many milliseconds. Default: no age limit. */
  windowMs?: number;
  /** No verdict before this many images are in the window (at most 50). Default 25. */
  minWindow?: number;
  /** Default thresholds for every feature (PSI, or JS for the class mix). Default 0.1 / 0.25. */
  thresholds?: Partial<Thresholds>;
  /** Per-feature thresholds, e.g. { sharpness: { alert: 0.5 } }. */
  featureThresholds?: Partial<Record<ContinuousFeature | typeof CLASS_FEATURE, Partial<Thresholds>>>;
  /** Family-wise significance level of an alert. Default 0.05. */
  alpha?: number;
  /** Random relabellings of the permutation test (comparison.ts). Default 200. */
  permutations?: number;
  /** Clock (ms), for tests. Default Date.now. */
  now?: () => number;
}

export interface FeatureDrift {
  /** PSI (continuous features) or Jensen-Shannon divergence in bits (class mix). */
  psi?: number;
  js?: number;
  /** This feature's own p-value (chi-square homogeneity and rank-sum tests, images as sample size). */
  pValue: number;
  /** pValue adjusted for the number of features compared (permutation minP). */
  adjustedPValue: number;
  status: DriftStatus;
  /** Bin (or class category) proportions of the reference and of the window. */
  reference: number[];
  current: number[];
  /** Images behind the window's values. */
  images: number;
}

export interface DriftReport {
  /** Images in the window now. */
  window: number;
  minWindow: number;
  /** Whether the window is large enough for verdicts. */
  ready: boolean;
  alert: boolean;
  /** Permutation p-value of the whole window against the reference (all features combined). */
  pValue?: number;
  /** Features in 'alert', worst first. */
  alerts: string[];
  features: Record<string, FeatureDrift>;
}

interface Entry {
  at: number;
  /** The image's features as bins of the profile (profile.sampleFeatures order). */
  bins: number[][];
}

function proportions(counts: readonly number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (total === 0 ? 0 : c / total));
}

function checkThresholds(name: string, t: Partial<Thresholds> | undefined, base: Thresholds): Thresholds {
  if (t === undefined) return base;
  if (typeof t !== 'object' || t === null) throw invalidOption(name, 'an object { warn, alert }', t);
  const warn = t.warn ?? base.warn;
  const alert = t.alert ?? base.alert;
  for (const [k, v] of [
    ['warn', warn],
    ['alert', alert],
  ] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw invalidOption(`${name}.${k}`, 'a positive number', v);
    }
  }
  if (warn > alert) throw invalidOption(`${name}.warn`, `a number <= alert (${alert})`, warn);
  return { warn, alert };
}

function intOption(name: string, v: unknown, min: number, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalidOption(name, `an integer between ${min} and ${max}`, v);
  }
  return v;
}

export class DriftMonitor {
  readonly profile: DriftProfile;
  readonly window: number;
  readonly windowMs: number | undefined;
  readonly minWindow: number;
  readonly alpha: number;
  readonly permutations: number;
  readonly #thresholds: Map<string, Thresholds>;
  readonly #now: () => number;
  #entries: Entry[] = [];
  #head = 0;

  constructor(profile: DriftProfile, options: DriftOptions = {}) {
    if (typeof options !== 'object' || options === null) throw invalidOption('options', 'an object', options);
    this.profile = profile;
    this.window = intOption('window', options.window, SMALLEST_MIN_WINDOW, 1_000_000, DEFAULT_WINDOW);
    this.minWindow = intOption(
      'minWindow',
      options.minWindow,
      SMALLEST_MIN_WINDOW,
      Math.min(50, this.window),
      Math.min(DEFAULT_MIN_WINDOW, this.window),
    );
    if (
      options.windowMs !== undefined &&
      (typeof options.windowMs !== 'number' || !Number.isFinite(options.windowMs) || options.windowMs <= 0)
    ) {
      throw invalidOption('windowMs', 'a positive number of milliseconds', options.windowMs);
    }
    this.windowMs = options.windowMs;
    const alpha = options.alpha ?? DEFAULT_ALPHA;
    if (typeof alpha !== 'number' || !(alpha > 0 && alpha < 1)) {
      throw invalidOption('alpha', 'a number between 0 and 1 (exclusive)', alpha);
    }
    this.alpha = alpha;
    this.permutations = intOption('permutations', options.permutations, 100, 100_000, DEFAULT_PERMUTATIONS);
    const base = checkThresholds('thresholds', options.thresholds, { ...DEFAULT_THRESHOLDS });
    this.#thresholds = new Map();
    const per: Partial<Record<string, Partial<Thresholds>>> = options.featureThresholds ?? {};
    if (typeof per !== 'object' || per === null) throw invalidOption('featureThresholds', 'an object', per);
    for (const name of [...CONTINUOUS_FEATURES, CLASS_FEATURE]) {
      this.#thresholds.set(name, checkThresholds(`featureThresholds.${name}`, per[name], base));
    }
    for (const name of Object.keys(per)) {
      if (!this.#thresholds.has(name)) {
        throw invalidOption(
          'featureThresholds',
          `feature names among ${[...this.#thresholds.keys()].join(', ')}`,
          name,
        );
      }
    }
    this.#now = options.now ?? Date.now;
  }

  /** Images in the window now (after dropping those too old). */
  get size(): number {
    this.#expire();
    return this.#entries.length - this.#head;
  }

  /** Adds one image's features to the window. */
  observe(features: ImageFeatures): void {
    this.#entries.push({ at: this.#now(), bins: binImage(this.profile, features) });
    const excess = this.#entries.length - this.#head - this.window;
    if (excess > 0) this.#head += excess;
    this.#compact();
  }

  reset(): void {
    this.#entries = [];
    this.#head = 0;
  }

  /** The window compared with the reference. */
  /** The window compared with the reference (synchronous: ~10-300 ms for large windows). */
  report(): DriftReport {
    const prepared = this.#prepare();
    return prepared.ready ? this.#finish(prepared, compare(...prepared.args)) : prepared.report;
  }

  /** Like report(), but gives the event loop a turn every few milliseconds: what a server should call. */
  async reportAsync(): Promise<DriftReport> {
    const prepared = this.#prepare();
    return prepared.ready ? this.#finish(prepared, await compareAsync(...prepared.args)) : prepared.report;
  }

  #prepare():
    | { ready: false; report: DriftReport }
    | { ready: true; report: DriftReport; specs: FeatureSpec[]; args: Parameters<typeof compare> } {
    this.#expire();
    const entries = this.#entries.slice(this.#head).map((e) => e.bins);
    const size = entries.length;
    const ready = size >= this.minWindow;
    const report: DriftReport = {
      window: size,
      minWindow: this.minWindow,
      ready,
      alert: false,
      alerts: [],
      features: {},
    };
    if (!ready) return { ready: false, report };

    // Features compared: those with enough window images (pixel features are missing while clients
    // send tensors; per-detection ones and the class mix count only images that had detections).
    const names = this.profile.sampleFeatures;
    const enough = names.map((name, f) => {
      const perDetection = name === CLASS_FEATURE || PER_DETECTION_FEATURES.has(name);
      const images = entries.reduce((n, e) => n + (e[f]!.length > 0 ? 1 : 0), 0);
      return images >= (perDetection ? SMALLEST_MIN_WINDOW : this.minWindow);
    });
    const used = names.flatMap((name, f) => (enough[f] ? [{ name, f }] : []));
    const specs: FeatureSpec[] = used.map(({ name }) => ({
      name,
      kind: name === CLASS_FEATURE ? 'js' : 'psi',
      bins:
        name === CLASS_FEATURE
          ? this.profile.classes.counts.length
          : this.profile.features[name as ContinuousFeature]!.counts.length,
      perDetection: name === CLASS_FEATURE || PER_DETECTION_FEATURES.has(name),
    }));
    const pick = (img: readonly (readonly number[])[]) => used.map(({ f }) => img[f] ?? []);
    return {
      ready: true,
      report,
      specs,
      args: [specs, this.profile.samples.map(pick), entries.map(pick), { permutations: this.permutations }],
    };
  }

  #finish({ report, specs }: { report: DriftReport; specs: FeatureSpec[] }, result: Comparison): DriftReport {
    report.pValue = result.combinedPValue;
    const windowSignificant = result.combinedPValue < this.alpha;
    specs.forEach((spec, i) => {
      const c = result.features[i]!;
      const t = this.#thresholds.get(spec.name) ?? DEFAULT_THRESHOLDS;
      // Alert: a large shift that is significant on its own (after the multiple-feature adjustment), or
      // part of a window that is significant as a whole.
      const significant = c.adjustedPValue < this.alpha || (windowSignificant && c.pValue < this.alpha);
      const status: DriftStatus =
        c.score >= t.alert && significant ? 'alert' : c.score >= t.warn && significant ? 'warn' : 'ok';
      report.features[spec.name] = {
        [spec.kind]: c.score,
        pValue: c.pValue,
        adjustedPValue: c.adjustedPValue,
        status,
        reference: proportions(c.referenceCounts),
        current: proportions(c.currentCounts),
        images: c.images,
      };
    });
    report.alerts = specs
      .map((s, i) => ({ name: s.name, p: result.features[i]!.pValue }))
      .filter(({ name }) => report.features[name]!.status === 'alert')
      .sort((a, b) => a.p - b.p)
      .map(({ name }) => name);
    report.alert = report.alerts.length > 0;
    return report;
  }

  #expire(): void {
    if (this.windowMs === undefined) return;
    const oldest = this.#now() - this.windowMs;
    while (this.#head < this.#entries.length && this.#entries[this.#head]!.at < oldest) this.#head++;
    this.#compact();
  }

  /** Drops consumed entries once they are half the array, so memory stays O(window). */
  #compact(): void {
    if (this.#head > 0 && this.#head * 2 >= this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }
}
