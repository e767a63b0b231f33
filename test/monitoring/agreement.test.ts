/** Candidate-versus-primary agreement and the automatic rollback decision. */
import { describe, expect, it } from 'vitest';
import {
  AgreementTracker,
  DEFAULT_ROLLBACK,
  matchDetections,
  rollbackCause,
  rollbackReason,
  type DetectResult,
} from '../../dist/index.js';

function result(dets: [number, number, number, number, number, number][]): DetectResult {
  return {
    width: 100,
    height: 100,
    speed: { preprocess: 0, inference: 0, postprocess: 0 },
    detections: dets.map(([x1, y1, x2, y2, conf, cls]) => ({ box: [x1, y1, x2, y2], conf, cls, name: '' })),
  };
}

describe('agreement', () => {
  it('matches same-class boxes at IoU >= 0.5, each primary box once', () => {
    const p = result([
      [0, 0, 10, 10, 0.9, 0],
      [50, 50, 60, 60, 0.8, 1],
    ]);
    const c = result([
      [1, 0, 11, 10, 0.85, 0], // IoU 0.82 with the first
      [0, 0, 10, 10, 0.5, 0], // same box, lower score: the first is taken
      [50, 50, 60, 60, 0.7, 2], // other class
    ]);
    expect(matchDetections(p, c)).toEqual([[0, 0]]);
  });

  it('computes F1, confidence and count deltas, latency ratio and error rate', () => {
    const t = new AgreementTracker(10);
    const p = result([
      [0, 0, 10, 10, 0.9, 0],
      [50, 50, 60, 60, 0.8, 1],
    ]);
    const c = result([[0, 0, 10, 10, 0.7, 0]]);
    t.record(p, c, 10, 20);
    t.record(p, p, 10, 20);
    t.recordError();
    const s = t.stats();
    expect(s.images).toBe(2);
    expect(s.f1).toBeCloseTo((2 * 3) / 7, 12);
    expect(s.meanConfDelta).toBeCloseTo(0.2 / 3, 12);
    expect(s.meanCountDelta).toBeCloseTo(-0.5, 12);
    expect(s.latencyRatio).toBeCloseTo(2, 12);
    expect(s.errorRate).toBeCloseTo(1 / 3, 12);
  });

  it('keeps a sliding window', () => {
    const t = new AgreementTracker(2);
    const a = result([[0, 0, 10, 10, 0.9, 0]]);
    t.record(a, result([]), 1, 1);
    t.record(a, a, 1, 1);
    t.record(a, a, 1, 1);
    expect(t.stats()).toMatchObject({ images: 2, f1: 1 });
    expect(() => new AgreementTracker(0)).toThrow(/window/);
  });

  it('decides rollback on errors, disagreement or latency, only past the minimum', () => {
    const base = {
      images: 100,
      f1: 0.95,
      meanConfDelta: 0,
      meanCountDelta: 0,
      latencyRatio: 1,
      candidateErrors: 0,
      errorRate: 0,
    };
    expect(rollbackReason(base)).toBeNull();
    expect(rollbackReason({ ...base, f1: 0.5 })).toMatch(/F1/);
    expect(rollbackReason({ ...base, errorRate: 0.2, candidateErrors: 25 })).toMatch(/error rate/);
    expect(rollbackReason({ ...base, latencyRatio: 5 })).toMatch(/latency/);
    expect(rollbackReason({ ...base, images: 10, f1: 0.1 })).toBeNull();
    expect(DEFAULT_ROLLBACK.minF1).toBe(0.8);
    // The rule behind each reason (the metric's label), without parsing the words.
    expect(rollbackCause({ ...base, f1: 0.5 })?.rule).toBe('f1');
    expect(rollbackCause({ ...base, errorRate: 0.2, candidateErrors: 25 })?.rule).toBe('error_rate');
    expect(rollbackCause({ ...base, latencyRatio: 5 })?.rule).toBe('latency');
    expect(rollbackCause(base)).toBeNull();
  });
});
