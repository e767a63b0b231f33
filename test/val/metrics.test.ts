// Validation metrics: hand-worked AP cases, Ultralytics' matching rule, and a synthetic dataset scored by
// an independent implementation written here from the COCO definition (per-threshold greedy matching in
// score order), which must agree.
import { describe, expect, it } from 'vitest';
import {
  averagePrecision,
  computeMetrics,
  imageStats,
  interp,
  matchPredictions,
  type Box,
  type Prediction,
  type Target,
} from '../../dist/val/metrics.js';

const t = (box: Box, cls = 0): Target => ({ box, cls });
const p = (box: Box, conf: number, cls = 0): Prediction => ({ box, conf, cls });

describe('average precision (hand-worked)', () => {
  it('a perfect detector scores 0.995: the 101st sample lands on the appended precision 0', () => {
    // recall [1], precision [1] -> envelope 1 on [0, 1), 0 at recall 1; trapezoids: 100 * 0.01 - 0.005.
    expect(averagePrecision([1], [1])).toBeCloseTo(0.995, 12);
  });

  it('TP, FP, TP over 2 labels: 0.828333...', () => {
    // recall .5 .5 1, precision 1 .5 .667; envelope: 1 up to recall .5 (exclusive), 2/3 from .5 to 1,
    // 0 at 1. Samples: 50 x 1, 50 x 2/3, one 0 -> 0.01 * (50 + 100/3 - 0.5) = 0.8283333.
    expect(averagePrecision([0.5, 0.5, 1], [1, 0.5, 2 / 3])).toBeCloseTo(0.01 * (50 + 100 / 3 - 0.5), 12);
  });

  it('half the labels found at full precision: 0.5 (linear from recall .5 to 1 with precision falling)', () => {
    // recall [.5], precision [1]: mrec 0 .5 1, mpre 1 1 0 -> 1 up to .5 then linear down to 0 at 1.
    // Integral: .5 + .5 * .5 = .75, minus nothing at the ends (the line already ends at 0).
    expect(averagePrecision([0.5], [1])).toBeCloseTo(0.75, 12);
  });

  it('interp follows numpy at duplicate x values and at the ends', () => {
    expect(interp(0.5, [0, 0.5, 0.5, 1], [1, 1, 0.25, 0])).toBe(0.25);
    expect(interp(-1, [0, 1], [3, 4], 7)).toBe(7);
    expect(interp(2, [0, 1], [3, 4])).toBe(4);
    expect(interp(0.25, [0, 1], [0, 4])).toBe(1);
  });
});

describe("Ultralytics' matching rule", () => {
  it('a label goes to the first (most confident) prediction that chose it, not the best-overlapping one', () => {
    const labels = [t([0, 0, 10, 10])];
    // First prediction IoU 0.64, second 0.81: the first one is the true positive at 0.5 and 0.6.
    const tp = matchPredictions([p([0, 0, 8, 8], 0.9), p([0, 0, 9, 9], 0.8)], labels);
    expect(tp.map((row) => row[0])).toEqual([true, false]);
    expect(tp[0]![2]).toBe(true); // 0.60
    expect(tp[0]![3]).toBe(false); // 0.65 > 0.64: the first fails, and the second is not promoted
    expect(tp[1]![3]).toBe(true); // at 0.65 only the second qualifies, so it takes the label
  });

  it('a prediction that loses its best label does not fall back to another', () => {
    const labels = [t([0, 0, 10, 10]), t([2, 0, 12, 10])];
    // Both predictions overlap label 0 best; the second also overlaps label 1 at IoU 0.667.
    const preds = [p([0, 0, 10, 10], 0.9), p([1, 0, 11, 10], 0.8)];
    const tp = matchPredictions(preds, labels);
    expect(tp.map((row) => row[0])).toEqual([true, false]);
  });

  it('never matches across classes', () => {
    expect(matchPredictions([p([0, 0, 10, 10], 0.9, 1)], [t([0, 0, 10, 10], 0)])[0]!.some(Boolean)).toBe(
      false,
    );
  });

  it('P, R and mAP of a perfect detector, and of one that misses a class', () => {
    const perfect = computeMetrics([imageStats([p([0, 0, 10, 10], 0.9)], [t([0, 0, 10, 10])])]);
    expect(perfect.precision).toBeCloseTo(1, 6);
    expect(perfect.recall).toBeCloseTo(1, 6);
    expect(perfect.map50).toBeCloseTo(0.995, 12);
    expect(perfect.map50_95).toBeCloseTo(0.995, 12);
    const missing = computeMetrics([
      imageStats([p([0, 0, 10, 10], 0.9)], [t([0, 0, 10, 10]), t([20, 20, 30, 30], 1)]),
    ]);
    expect(missing.classes.map((c) => c.map50)).toEqual([expect.closeTo(0.995, 12), 0]);
    expect(missing.map50).toBeCloseTo(0.4975, 12);
  });
});

// ---- An independent implementation from the COCO definition -------------------------------------

function iouRef(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const i = ix * iy;
  return i / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i + 1e-7);
}

/** COCO evaluation: per class and threshold, detections in score order each take the best free label. */
function cocoReference(images: { preds: Prediction[]; targets: Target[] }[]) {
  const thresholds = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95];
  const classes = [...new Set(images.flatMap((im) => im.targets.map((x) => x.cls)))].sort((a, b) => a - b);
  const perClass = classes.map((c) => {
    const nLabels = images.reduce((n, im) => n + im.targets.filter((x) => x.cls === c).length, 0);
    const dets = images
      .flatMap((im, img) => im.preds.map((d, k) => ({ d, img, k })))
      .filter(({ d }) => d.cls === c)
      .sort((a, b) => b.d.conf - a.d.conf || a.img - b.img || a.k - b.k);
    return thresholds.map((thr) => {
      const used = images.map((im) => im.targets.map(() => false));
      const isTp = dets.map(({ d, img }) => {
        let best = -1;
        let bestIou = thr;
        images[img]!.targets.forEach((g, gi) => {
          if (g.cls !== c || used[img]![gi]) return;
          const v = iouRef(g.box, d.box);
          if (v >= bestIou) {
            bestIou = v;
            best = gi;
          }
        });
        if (best >= 0) used[img]![best] = true;
        return best >= 0;
      });
      if (dets.length === 0) return { trapezoid: 0, coco101: 0 };
      const rec: number[] = [];
      const prec: number[] = [];
      let tp = 0;
      isTp.forEach((hit, i) => {
        if (hit) tp++;
        rec.push(tp / nLabels);
        prec.push(tp / (i + 1));
      });
      // Envelope: best precision at this recall or beyond.
      const env = prec.map((_, i) => Math.max(...prec.slice(i)));
      // COCO's 101-point AP: mean of the envelope at the first point reaching each recall level.
      let coco = 0;
      for (let k = 0; k <= 100; k++) {
        const i = rec.findIndex((r) => r >= k / 100 - 1e-12);
        coco += i < 0 ? 0 : env[i]!;
      }
      // Ultralytics' variant of the same samples: the envelope drawn as straight lines through
      // (0, 1), each (recall, precision) point and (1, 0), integrated by trapezoids over the samples.
      const xs = [0, ...rec, 1];
      const ys = [1, ...env, 0].map((_, i, a) => Math.max(...a.slice(i)));
      const at = (x: number) => {
        let j = 0;
        for (let i = 0; i < xs.length; i++) if (xs[i]! <= x) j = i;
        if (j === xs.length - 1 || xs[j] === x) return ys[j]!;
        return ys[j]! + ((ys[j + 1]! - ys[j]!) * (x - xs[j]!)) / (xs[j + 1]! - xs[j]!);
      };
      let trap = 0;
      for (let k = 1; k <= 100; k++) trap += (at(k / 100) + at((k - 1) / 100)) * 0.005;
      return { trapezoid: trap, coco101: coco / 101 };
    });
  });
  const mean = (f: (row: { trapezoid: number; coco101: number }[]) => number) =>
    perClass.reduce((s, row) => s + f(row), 0) / perClass.length;
  return {
    map50: mean((row) => row[0]!.trapezoid),
    map50_95: mean((row) => row.reduce((s, x) => s + x.trapezoid, 0) / row.length),
    cocoMap50_95: mean((row) => row.reduce((s, x) => s + x.coco101, 0) / row.length),
  };
}

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Images on a 4x4 grid of 100 px cells, at most one label per cell, predictions jittered a little from
 * their label (so each overlaps only its own label: both matching rules then agree), plus misses,
 * duplicates, wrong classes and background false positives.
 */
function syntheticDataset(seed: number) {
  const r = rng(seed);
  return Array.from({ length: 40 }, () => {
    const targets: Target[] = [];
    const preds: Prediction[] = [];
    for (let cell = 0; cell < 16; cell++) {
      const ox = (cell % 4) * 100;
      const oy = Math.floor(cell / 4) * 100;
      const u = r();
      if (u < 0.45) {
        const cls = Math.floor(r() * 3);
        const box: Box = [ox + 20 + r() * 10, oy + 20 + r() * 10, ox + 60 + r() * 20, oy + 60 + r() * 20];
        targets.push({ box, cls });
        const j = () => (r() - 0.5) * 12;
        if (r() < 0.85)
          preds.push({
            box: [box[0] + j(), box[1] + j(), box[2] + j(), box[3] + j()],
            conf: r(),
            cls: r() < 0.9 ? cls : (cls + 1) % 3,
          });
        if (r() < 0.2)
          preds.push({ box: [box[0] + j(), box[1] + j(), box[2] + j(), box[3] + j()], conf: r() * 0.5, cls });
      } else if (u < 0.55) {
        preds.push({ box: [ox + 10, oy + 10, ox + 40, oy + 40], conf: r() * 0.6, cls: Math.floor(r() * 3) });
      }
    }
    // Score order, as NMS returns them.
    preds.sort((a, b) => b.conf - a.conf);
    return { preds, targets };
  });
}

describe('synthetic dataset: two implementations agree', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}`, () => {
      const data = syntheticDataset(seed);
      const ours = computeMetrics(data.map((im) => imageStats(im.preds, im.targets)));
      const ref = cocoReference(data);
      expect(ours.map50).toBeCloseTo(ref.map50, 9);
      expect(ours.map50_95).toBeCloseTo(ref.map50_95, 9);
      // pycocotools' number for the same matches is lower where recall never reaches 1: it scores
      // unreached recall levels 0, while Ultralytics' line runs on down to (1, 0). Its curve is never
      // below COCO's step envelope, so it is never lower beyond the half-sample end correction.
      expect(ours.map50_95).toBeGreaterThan(ref.cocoMap50_95 - 0.01);
      expect(ours.map50).toBeGreaterThan(0.3);
    });
  }
});
