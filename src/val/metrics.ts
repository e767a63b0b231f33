/**
 * Detection metrics with Ultralytics' definitions (what `yolo val` prints), written from their
 * description: P and R at the confidence that maximises the mean F1 over classes, AP per class at 10 IoU
 * thresholds 0.50:0.05:0.95 from the precision envelope sampled at 101 recall points and integrated with
 * the trapezoid rule, mAP = mean over the classes present in the labels.
 */

export type Box = readonly [number, number, number, number];

/** IoU thresholds 0.50, 0.55, ..., 0.95. */
export const IOU_THRESHOLDS: readonly number[] = Array.from({ length: 10 }, (_, i) => 0.5 + i * 0.05);

/** IoU as Ultralytics computes it for matching: intersection / (union + 1e-7). */
export function boxIou(a: Box, b: Box): number {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = iw * ih;
  const areaA = (a[2] - a[0]) * (a[3] - a[1]);
  const areaB = (b[2] - b[0]) * (b[3] - b[1]);
  return inter / (areaA + areaB - inter + 1e-7);
}

export interface Prediction {
  box: Box;
  conf: number;
  cls: number;
}

export interface Target {
  box: Box;
  cls: number;
}

/**
 * Which predictions are true positives at each IoU threshold (rows: predictions in the given order,
 * normally score descending; columns: thresholds). Ultralytics' rule, per threshold: candidate pairs are
 * (label, prediction) of the same class with IoU >= threshold; each prediction keeps its highest-IoU
 * label; then each label keeps, among the predictions that kept it, the one listed first (the most
 * confident). A prediction that loses its best label does not fall back to another one.
 */
export function matchPredictions(
  predictions: readonly Prediction[],
  targets: readonly Target[],
  thresholds: readonly number[] = IOU_THRESHOLDS,
): boolean[][] {
  const correct = predictions.map(() => thresholds.map(() => false));
  if (predictions.length === 0 || targets.length === 0) return correct;
  const iou = targets.map((t) => predictions.map((p) => (p.cls === t.cls ? boxIou(t.box, p.box) : 0)));
  thresholds.forEach((threshold, ti) => {
    // Best label per prediction (ties: the lower label index).
    const bestLabel = new Map<number, { label: number; iou: number }>();
    for (let p = 0; p < predictions.length; p++) {
      for (let l = 0; l < targets.length; l++) {
        const v = iou[l]![p]!;
        if (v < threshold) continue;
        const cur = bestLabel.get(p);
        if (cur === undefined || v > cur.iou) bestLabel.set(p, { label: l, iou: v });
      }
    }
    // Each label goes to the first prediction (lowest index) that chose it.
    const taken = new Set<number>();
    for (let p = 0; p < predictions.length; p++) {
      const best = bestLabel.get(p);
      if (best === undefined || taken.has(best.label)) continue;
      taken.add(best.label);
      correct[p]![ti] = true;
    }
  });
  return correct;
}

/** numpy.interp: piecewise-linear through (xp, fp), xp non-decreasing; `left` below xp[0], fp[last] above. */
export function interp(x: number, xp: readonly number[], fp: readonly number[], left = fp[0]!): number {
  const n = xp.length;
  if (x < xp[0]!) return left;
  if (x >= xp[n - 1]!) return fp[n - 1]!;
  // Largest j with xp[j] <= x (so duplicates in xp take the later value, as numpy does).
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xp[mid]! <= x) lo = mid;
    else hi = mid;
  }
  const x0 = xp[lo]!;
  const x1 = xp[lo + 1]!;
  const y0 = fp[lo]!;
  if (x === x0) return y0;
  return y0 + ((fp[lo + 1]! - y0) * (x - x0)) / (x1 - x0);
}

/** np.linspace(a, b, n). */
export function linspace(a: number, b: number, n: number): number[] {
  const step = (b - a) / (n - 1);
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? b : a + i * step));
}

/**
 * AP of one precision/recall curve (points in score order): prepend (recall 0, precision 1), append
 * (recall 1, precision 0), take the precision envelope (running max from the right), sample it at 101
 * recall points 0, 0.01, ..., 1 by linear interpolation, integrate with the trapezoid rule. A perfect
 * detector scores 0.995 under this rule (the last sample falls on the appended precision 0).
 */
export function averagePrecision(recall: readonly number[], precision: readonly number[]): number {
  const mrec = [0, ...recall, 1];
  const mpre = [1, ...precision, 0];
  for (let i = mpre.length - 2; i >= 0; i--) mpre[i] = Math.max(mpre[i]!, mpre[i + 1]!);
  const xs = linspace(0, 1, 101);
  const ys = xs.map((x) => interp(x, mrec, mpre));
  let area = 0;
  for (let i = 1; i < xs.length; i++) area += ((xs[i]! - xs[i - 1]!) * (ys[i]! + ys[i - 1]!)) / 2;
  return area;
}

/** Box-filter smoothing over a fraction `f` of the curve, edges padded with the end values. */
function smooth(y: readonly number[], f: number): number[] {
  const nf = Math.floor(roundHalfEven(y.length * f * 2) / 2) + 1;
  const pad = Math.floor(nf / 2);
  const yp = [...Array<number>(pad).fill(y[0]!), ...y, ...Array<number>(pad).fill(y[y.length - 1]!)];
  const out: number[] = [];
  for (let i = 0; i + nf <= yp.length; i++) {
    let s = 0;
    for (let k = 0; k < nf; k++) s += yp[i + k]!;
    out.push(s / nf);
  }
  return out;
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Per-image statistics: what matching found, kept until the whole set is seen. */
export interface ImageStats {
  /** Per prediction, true-positive flags at each IoU threshold. */
  tp: boolean[][];
  conf: number[];
  predCls: number[];
  targetCls: number[];
}

export interface ClassMetrics {
  cls: number;
  /** Images with at least one label of this class. */
  images: number;
  /** Labels of this class. */
  instances: number;
  precision: number;
  recall: number;
  map50: number;
  map50_95: number;
  /** AP at each of the 10 IoU thresholds. */
  ap: number[];
}

export interface DetectionMetrics {
  precision: number;
  recall: number;
  map50: number;
  map50_95: number;
  /** One entry per class that has labels, by class id. */
  classes: ClassMetrics[];
  /** The confidence at which P and R are reported (max mean F1). */
  confAtBestF1: number;
}

/** Matching plus bookkeeping for one image. */
export function imageStats(predictions: readonly Prediction[], targets: readonly Target[]): ImageStats {
  return {
    tp: matchPredictions(predictions, targets),
    conf: predictions.map((p) => p.conf),
    predCls: predictions.map((p) => p.cls),
    targetCls: targets.map((t) => t.cls),
  };
}

/** Ultralytics' ap_per_class over all images: P, R (at the best mean-F1 confidence), AP50, AP50-95. */
export function computeMetrics(stats: readonly ImageStats[]): DetectionMetrics {
  const eps = 1e-16;
  const tp = stats.flatMap((s) => s.tp);
  const conf = stats.flatMap((s) => s.conf);
  const predCls = stats.flatMap((s) => s.predCls);
  const nThr = IOU_THRESHOLDS.length;
  // Stable sort by confidence, descending.
  const order = conf.map((_, i) => i).sort((a, b) => conf[b]! - conf[a]! || a - b);
  const counts = new Map<number, number>();
  const imagesWith = new Map<number, number>();
  for (const s of stats) {
    for (const c of s.targetCls) counts.set(c, (counts.get(c) ?? 0) + 1);
    for (const c of new Set(s.targetCls)) imagesWith.set(c, (imagesWith.get(c) ?? 0) + 1);
  }
  const classes = [...counts.keys()].sort((a, b) => a - b);
  const px = linspace(0, 1, 1000);
  const pCurves: number[][] = [];
  const rCurves: number[][] = [];
  const aps: number[][] = [];
  for (const c of classes) {
    const idx = order.filter((i) => predCls[i] === c);
    const nl = counts.get(c)!;
    if (idx.length === 0) {
      pCurves.push(px.map(() => 0));
      rCurves.push(px.map(() => 0));
      aps.push(Array<number>(nThr).fill(0));
      continue;
    }
    const negConf = idx.map((i) => -conf[i]!);
    const apRow: number[] = [];
    for (let t = 0; t < nThr; t++) {
      let tpc = 0;
      let fpc = 0;
      const recall: number[] = [];
      const precision: number[] = [];
      for (const i of idx) {
        if (tp[i]![t]) tpc++;
        else fpc++;
        recall.push(tpc / (nl + eps));
        precision.push(tpc / (tpc + fpc));
      }
      if (t === 0) {
        rCurves.push(px.map((x) => interp(-x, negConf, recall, 0)));
        pCurves.push(px.map((x) => interp(-x, negConf, precision, 1)));
      }
      apRow.push(averagePrecision(recall, precision));
    }
    aps.push(apRow);
  }
  if (classes.length === 0) {
    return { precision: 0, recall: 0, map50: 0, map50_95: 0, classes: [], confAtBestF1: 0 };
  }
  const meanF1 = px.map((_, k) => {
    let s = 0;
    for (let c = 0; c < classes.length; c++) {
      const p = pCurves[c]![k]!;
      const r = rCurves[c]![k]!;
      s += (2 * p * r) / (p + r + eps);
    }
    return s / classes.length;
  });
  const smoothed = smooth(meanF1, 0.1);
  let best = 0;
  for (let k = 1; k < smoothed.length; k++) if (smoothed[k]! > smoothed[best]!) best = k;
  const perClass: ClassMetrics[] = classes.map((c, ci) => {
    const ap = aps[ci]!;
    return {
      cls: c,
      images: imagesWith.get(c) ?? 0,
      instances: counts.get(c)!,
      precision: pCurves[ci]![best]!,
      recall: rCurves[ci]![best]!,
      map50: ap[0]!,
      map50_95: ap.reduce((a, b) => a + b, 0) / ap.length,
      ap,
    };
  });
  const mean = (f: (m: ClassMetrics) => number) => perClass.reduce((a, m) => a + f(m), 0) / perClass.length;
  return {
    precision: mean((m) => m.precision),
    recall: mean((m) => m.recall),
    map50: mean((m) => m.map50),
    map50_95: mean((m) => m.map50_95),
    classes: perClass,
    confAtBestF1: px[best]!,
  };
}
