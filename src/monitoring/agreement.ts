/**
 * Agreement between a candidate model version and the primary on the same images: what a shadow or
 * canary deployment watches before promoting the candidate. Per image pair, detections are matched
 * greedily (highest confidence first) to an unmatched detection of the same class with IoU >= 0.5,
 * the rule of detection benchmarks (PASCAL VOC); the primary's detections play the ground truth.
 */
import { invalidOption } from '../errors.js';
import type { DetectResult } from '../results.js';

export const MATCH_IOU = 0.5;

export interface AgreementStats {
  /** Image pairs compared. */
  images: number;
  /** Matched detections / primary's and candidate's: F1 = 2 matched / (primary + candidate). */
  f1: number;
  /** Mean |candidate conf - primary conf| over matched detections. */
  meanConfDelta: number;
  /** Mean (candidate detections - primary detections) per image. */
  meanCountDelta: number;
  /** Candidate latency / primary latency (sum over pairs). */
  latencyRatio: number;
  /** Candidate requests that failed while the primary answered. */
  candidateErrors: number;
  /** candidateErrors / (images + candidateErrors). */
  errorRate: number;
}

function iou(a: readonly number[], b: readonly number[]): number {
  const w = Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!);
  const h = Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = (a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - inter;
  return union > 0 ? inter / union : 0;
}

/** Matches of one image pair: [primary index, candidate index] with IoU >= MATCH_IOU, same class. */
export function matchDetections(primary: DetectResult, candidate: DetectResult): [number, number][] {
  const used = new Set<number>();
  const order = candidate.detections
    .map((_, i) => i)
    .sort((a, b) => candidate.detections[b]!.conf - candidate.detections[a]!.conf);
  const matches: [number, number][] = [];
  for (const c of order) {
    const cd = candidate.detections[c]!;
    let best = -1;
    let bestIou = MATCH_IOU;
    primary.detections.forEach((pd, p) => {
      if (used.has(p) || pd.cls !== cd.cls) return;
      const v = iou(pd.box, cd.box);
      if (v >= bestIou) {
        best = p;
        bestIou = v;
      }
    });
    if (best >= 0) {
      used.add(best);
      matches.push([best, c]);
    }
  }
  return matches;
}

/** Running agreement over a sliding window of image pairs. */
export class AgreementTracker {
  readonly window: number;
  #pairs: {
    primary: number;
    candidate: number;
    matched: number;
    confDelta: number;
    pMs: number;
    cMs: number;
  }[] = [];
  #errors: boolean[] = [];

  constructor(window = 500) {
    if (!Number.isInteger(window) || window < 1) throw invalidOption('window', 'a positive integer', window);
    this.window = window;
  }

  /** Records one image answered by both (latencies in ms, e.g. the sum of result.speed). */
  record(primary: DetectResult, candidate: DetectResult, primaryMs: number, candidateMs: number): void {
    const matches = matchDetections(primary, candidate);
    let confDelta = 0;
    for (const [p, c] of matches)
      confDelta += Math.abs(primary.detections[p]!.conf - candidate.detections[c]!.conf);
    this.#pairs.push({
      primary: primary.detections.length,
      candidate: candidate.detections.length,
      matched: matches.length,
      confDelta,
      pMs: primaryMs,
      cMs: candidateMs,
    });
    this.#errors.push(false);
    this.#trim();
  }

  /** Records a candidate failure on an image the primary answered. */
  recordError(): void {
    this.#errors.push(true);
    this.#trim();
  }

  stats(): AgreementStats {
    const p = this.#pairs;
    const sum = (f: (x: (typeof p)[number]) => number) => p.reduce((a, x) => a + f(x), 0);
    const matched = sum((x) => x.matched);
    const detections = sum((x) => x.primary + x.candidate);
    const errors = this.#errors.filter(Boolean).length;
    const pMs = sum((x) => x.pMs);
    return {
      images: p.length,
      f1: detections === 0 ? 1 : (2 * matched) / detections,
      meanConfDelta: matched === 0 ? 0 : sum((x) => x.confDelta) / matched,
      meanCountDelta: p.length === 0 ? 0 : sum((x) => x.candidate - x.primary) / p.length,
      latencyRatio: pMs === 0 ? 1 : sum((x) => x.cMs) / pMs,
      candidateErrors: errors,
      errorRate: this.#errors.length === 0 ? 0 : errors / this.#errors.length,
    };
  }

  #trim(): void {
    if (this.#pairs.length > this.window) this.#pairs.splice(0, this.#pairs.length - this.window);
    if (this.#errors.length > this.window) this.#errors.splice(0, this.#errors.length - this.window);
  }
}

export interface RollbackThresholds {
  /** Roll back when F1 falls below this. Default 0.8. */
  minF1: number;
  /** Roll back when the candidate's error rate exceeds this. Default 0.05. */
  maxErrorRate: number;
  /** Roll back when the candidate is this many times slower. Default 3. */
  maxLatencyRatio: number;
  /** No decision before this many image pairs. Default 50. */
  minImages: number;
}

export const DEFAULT_ROLLBACK: Readonly<RollbackThresholds> = {
  minF1: 0.8,
  maxErrorRate: 0.05,
  maxLatencyRatio: 3,
  minImages: 50,
};

/** The rule a rollback decision rests on (a metric label: a few fixed values, unlike the message). */
export type RollbackRule = 'error_rate' | 'f1' | 'latency';

/** Which rule says the candidate should be rolled back now, and why in words; null when none does. */
export function rollbackCause(
  stats: AgreementStats,
  t: RollbackThresholds = DEFAULT_ROLLBACK,
): { rule: RollbackRule; reason: string } | null {
  if (stats.images + stats.candidateErrors < t.minImages) return null;
  if (stats.errorRate > t.maxErrorRate) {
    return {
      rule: 'error_rate',
      reason: `candidate error rate ${stats.errorRate.toFixed(3)} > ${t.maxErrorRate}`,
    };
  }
  if (stats.images < t.minImages) return null;
  if (stats.f1 < t.minF1) return { rule: 'f1', reason: `agreement F1 ${stats.f1.toFixed(3)} < ${t.minF1}` };
  if (stats.latencyRatio > t.maxLatencyRatio) {
    return {
      rule: 'latency',
      reason: `candidate latency ${stats.latencyRatio.toFixed(2)}x the primary's > ${t.maxLatencyRatio}x`,
    };
  }
  return null;
}

/** Why the candidate should be rolled back now, or null. */
export function rollbackReason(
  stats: AgreementStats,
  t: RollbackThresholds = DEFAULT_ROLLBACK,
): string | null {
  return rollbackCause(stats, t)?.reason ?? null;
}
