/**
 * The statistics behind drift verdicts: PSI and Jensen-Shannon divergence between two histograms, and a
 * chi-square test of homogeneity that says whether their difference is more than sampling noise.
 *
 * Why a test next to PSI: PSI estimated from finite samples is biased upwards. For two samples of n and
 * m images from one distribution over k bins, n m / (n + m) * PSI is asymptotically chi-square with k - 1
 * degrees of freedom (PSI is the symmetrised Kullback-Leibler divergence), so its expected value by
 * chance alone is about (k - 1) (1/n + 1/m): 0.36 for 50 vs 50 images over 10 bins, above the usual 0.25
 * alert line. A verdict therefore needs both a PSI past its threshold (the shift matters) and a
 * homogeneity p-value below the significance level (the shift is real).
 */

/** Additive smoothing of histogram counts (Jeffreys' prior), so empty bins keep PSI finite. */
const SMOOTHING = 0.5;

/** Bin proportions with additive smoothing. */
export function smoothedProportions(counts: readonly number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0) + SMOOTHING * counts.length;
  return counts.map((c) => (c + SMOOTHING) / total);
}

/** Population stability index: sum (q - p) ln(q / p) over bins, on smoothed proportions. */
export function psi(reference: readonly number[], current: readonly number[]): number {
  const p = smoothedProportions(reference);
  const q = smoothedProportions(current);
  let s = 0;
  for (let i = 0; i < p.length; i++) s += (q[i]! - p[i]!) * Math.log(q[i]! / p[i]!);
  return s;
}

/** Jensen-Shannon divergence in bits (0..1) between two count vectors (unsmoothed; 0 ln 0 = 0). */
export function jensenShannon(reference: readonly number[], current: readonly number[]): number {
  const sp = reference.reduce((a, b) => a + b, 0);
  const sq = current.reduce((a, b) => a + b, 0);
  if (sp === 0 || sq === 0) return 0;
  let js = 0;
  for (let i = 0; i < reference.length; i++) {
    const p = reference[i]! / sp;
    const q = (current[i] ?? 0) / sq;
    const m = (p + q) / 2;
    if (p > 0) js += 0.5 * p * Math.log2(p / m);
    if (q > 0) js += 0.5 * q * Math.log2(q / m);
  }
  return Math.max(0, Math.min(1, js));
}

/** ln Gamma(x) for x > 0 (Lanczos approximation, g = 7, 9 terms; ~15 significant digits). */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * Regularised upper incomplete gamma Q(a, x): the power series for x < a + 1, Legendre's continued
 * fraction (modified Lentz) otherwise (Abramowitz and Stegun 6.5.29 and 6.5.31).
 */
function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const lead = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 1000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return Math.max(0, 1 - sum * Math.exp(lead));
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-14) break;
  }
  return Math.min(1, Math.exp(lead) * h);
}

/** P(X >= x) for X chi-square with `df` degrees of freedom. */
export function chiSquareSurvival(x: number, df: number): number {
  if (df <= 0) return 1;
  return gammaQ(df / 2, x / 2);
}

export interface HomogeneityTest {
  statistic: number;
  degreesOfFreedom: number;
  pValue: number;
}

/**
 * Pearson's chi-square test that two histograms over the same bins come from one distribution. Counts
 * may be rescaled to effective sample sizes (see `effectiveSizes`) when observations are not independent
 * (detections clustered in images). Bins empty in both are dropped; one bin left gives p = 1.
 */
export function homogeneityTest(
  reference: readonly number[],
  current: readonly number[],
  effectiveSizes?: { reference: number; current: number },
): HomogeneityTest {
  const sr = sum(reference);
  const sc = sum(current);
  if (sr === 0 || sc === 0) return { statistic: 0, degreesOfFreedom: 0, pValue: 1 };
  // Scale factors to the effective sizes (1 when counts are used as they are).
  const kr = effectiveSizes === undefined ? 1 : effectiveSizes.reference / sr;
  const kc = effectiveSizes === undefined ? 1 : effectiveSizes.current / sc;
  const nr = sr * kr;
  const nc = sc * kc;
  const total = nr + nc;
  let statistic = 0;
  let bins = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i]! * kr;
    const c = (current[i] ?? 0) * kc;
    const col = r + c;
    if (col === 0) continue;
    bins++;
    const er = (col * nr) / total;
    const ec = (col * nc) / total;
    statistic += (r - er) ** 2 / er + (c - ec) ** 2 / ec;
  }
  const degreesOfFreedom = bins - 1;
  return { statistic, degreesOfFreedom, pValue: chiSquareSurvival(statistic, degreesOfFreedom) };
}

function sum(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

/**
 * Wilcoxon-Mann-Whitney rank-sum test on two histograms over the same ordered bins (every value of a
 * bin shares its mid-rank; normal approximation with the tie correction). The chi-square test ignores
 * the order of bins; against a shift of the whole distribution up or down (darker images, fewer
 * detections) this test has far more power at small sample sizes.
 */
export function rankSumTest(
  reference: readonly number[],
  current: readonly number[],
  effectiveSizes?: { reference: number; current: number },
): HomogeneityTest {
  const sr = sum(reference);
  const sc = sum(current);
  if (sr === 0 || sc === 0) return { statistic: 0, degreesOfFreedom: 1, pValue: 1 };
  const kr = effectiveSizes === undefined ? 1 : effectiveSizes.reference / sr;
  const kc = effectiveSizes === undefined ? 1 : effectiveSizes.current / sc;
  const n = sr * kr;
  const m = sc * kc;
  const total = n + m;
  if (total < 2) return { statistic: 0, degreesOfFreedom: 1, pValue: 1 };
  let below = 0;
  let rankSum = 0;
  let ties = 0;
  for (let i = 0; i < reference.length; i++) {
    const c = (current[i] ?? 0) * kc;
    const t = reference[i]! * kr + c;
    rankSum += c * (below + (t + 1) / 2);
    ties += t * t * t - t;
    below += t;
  }
  const variance = ((n * m) / 12) * (total + 1 - ties / (total * (total - 1)));
  if (!(variance > 0)) return { statistic: 0, degreesOfFreedom: 1, pValue: 1 };
  const z = (rankSum - (m * (total + 1)) / 2) / Math.sqrt(variance);
  // Two-sided normal p-value: P(chi-square_1 >= z^2).
  return { statistic: z, degreesOfFreedom: 1, pValue: chiSquareSurvival(z * z, 1) };
}
