/** The statistics behind drift verdicts, against textbook values. */
import { describe, expect, it } from 'vitest';

import {
  chiSquareSurvival,
  homogeneityTest,
  jensenShannon,
  psi,
  rankSumTest,
} from '../../dist/monitoring/statistics.js';
import { binOf, histogram, quantileEdges } from '../../dist/monitoring/histogram.js';

describe('drift statistics', () => {
  it('chi-square survival matches tabulated critical values', () => {
    // Critical values from any chi-square table (df, x at P = 0.05 and 0.01).
    expect(chiSquareSurvival(3.841, 1)).toBeCloseTo(0.05, 3);
    expect(chiSquareSurvival(16.919, 9)).toBeCloseTo(0.05, 3);
    expect(chiSquareSurvival(21.666, 9)).toBeCloseTo(0.01, 3);
    expect(chiSquareSurvival(0, 4)).toBe(1);
    expect(chiSquareSurvival(200, 4)).toBeLessThan(1e-40);
  });

  it('PSI is 0 for identical histograms and grows with the shift', () => {
    expect(psi([10, 10, 10], [20, 20, 20])).toBeCloseTo(0, 12);
    const small = psi([10, 10, 10, 10], [12, 10, 9, 9]);
    const large = psi([10, 10, 10, 10], [30, 5, 3, 2]);
    expect(small).toBeLessThan(0.05);
    expect(large).toBeGreaterThan(0.25);
    expect(Number.isFinite(psi([10, 0], [0, 10]))).toBe(true);
  });

  it('Jensen-Shannon is 0 for equal mixes and 1 for disjoint ones', () => {
    expect(jensenShannon([1, 2, 3], [2, 4, 6])).toBeCloseTo(0, 12);
    expect(jensenShannon([5, 0], [0, 5])).toBeCloseTo(1, 12);
  });

  it('homogeneity and rank-sum tests separate noise from a shift', () => {
    expect(homogeneityTest([10, 10, 10, 10, 10], [9, 11, 10, 12, 8]).pValue).toBeGreaterThan(0.5);
    expect(homogeneityTest([10, 10, 10, 10, 10], [40, 5, 3, 1, 1]).pValue).toBeLessThan(1e-6);
    // A shift to lower bins: the rank-sum test is the more powerful of the two.
    const ref = [5, 5, 5, 5, 5];
    const cur = [9, 7, 5, 3, 1];
    expect(rankSumTest(ref, cur).pValue).toBeLessThan(homogeneityTest(ref, cur).pValue);
    expect(rankSumTest(ref, [1, 3, 5, 7, 9]).statistic).toBeGreaterThan(0);
    // Effective sizes shrink the evidence of clustered counts.
    expect(homogeneityTest([100, 100], [150, 50], { reference: 20, current: 20 }).pValue).toBeGreaterThan(
      homogeneityTest([100, 100], [150, 50]).pValue,
    );
  });
});

describe('quantile bins', () => {
  it('puts about the same share of the reference in each bin', () => {
    const values = Array.from({ length: 100 }, (_, i) => i);
    const edges = quantileEdges(values, 10);
    expect(edges).toHaveLength(9);
    expect(histogram(edges, values)).toEqual(new Array(10).fill(10));
    expect(binOf(edges, -5)).toBe(0);
    expect(binOf(edges, 1e9)).toBe(9);
  });

  it('isolates a value most references share, so moving off it shows', () => {
    const widths = [...new Array(20).fill(640), 480, 500, 500, 612, 375];
    const edges = quantileEdges(widths, 5);
    const ref = histogram(edges, widths);
    const rotated = histogram(edges, [...new Array(20).fill(480), 640, 640, 375, 500, 500]);
    expect(ref[binOf(edges, 640)]).toBe(20);
    expect(binOf(edges, 480)).not.toBe(binOf(edges, 640));
    expect(rotated[binOf(edges, 640)]).toBe(2);
  });

  it('skips non-finite values', () => {
    expect(quantileEdges([Number.NaN, 1, 2, 3, Number.POSITIVE_INFINITY], 2)).toEqual([2]);
  });
});
