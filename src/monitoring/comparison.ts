/**
 * Window-versus-reference comparison on binned per-image features, with a permutation test that
 * accounts for everything a formula cannot: features that move together (the three channel means), the
 * clustering of detections within images, and evidence spread over several features at once.
 *
 * Each feature gets a score (PSI, or Jensen-Shannon for the class mix) and a p-value (chi-square
 * homogeneity and Wilcoxon rank-sum, Bonferroni-combined, with images as the sample size). Then the
 * images of reference and window are pooled and relabelled at random `permutations` times (the
 * reference's per-image bins are stored in the profile for this), giving
 *  - a combined p-value for "the window differs from the reference" from the statistic
 *    sum over features of -ln p (Fisher's combination, calibrated by the permutations rather than by the
 *    chi-square it would follow for independent features), and
 *  - per-feature p-values adjusted for looking at many features (Westfall and Young's single-step minP:
 *    how often the smallest p of any feature in a relabelled split is at least as small).
 */
import { homogeneityTest, jensenShannon, psi, rankSumTest } from './statistics.js';

export interface FeatureSpec {
  name: string;
  kind: 'psi' | 'js';
  /** Number of bins (or class categories + 'other'). */
  bins: number;
  /** Several values per image (detections): tests use images, not values, as the sample size. */
  perDetection: boolean;
}

/** One image: for each spec (same order), the bins its values fell in (empty: not measured). */
export type BinnedImage = readonly (readonly number[])[];

export interface FeatureComparison {
  score: number;
  pValue: number;
  adjustedPValue: number;
  referenceCounts: number[];
  currentCounts: number[];
  /** Images of the window with a value for this feature. */
  images: number;
}

export interface Comparison {
  features: FeatureComparison[];
  combinedPValue: number;
}

interface GroupStats {
  counts: number[][];
  images: number[];
}

function groupStats(specs: readonly FeatureSpec[], images: readonly BinnedImage[]): GroupStats {
  const counts = specs.map((s) => new Array<number>(s.bins).fill(0));
  const withValues = new Array<number>(specs.length).fill(0);
  for (const img of images) addImage(counts, withValues, img, 1);
  return { counts, images: withValues };
}

function addImage(counts: number[][], images: number[], img: BinnedImage, sign: 1 | -1): void {
  for (let f = 0; f < counts.length; f++) {
    const bins = img[f];
    if (bins === undefined || bins.length === 0) continue;
    images[f]! += sign;
    const c = counts[f]!;
    for (const b of bins) c[b]! += sign;
  }
}

function featurePValue(
  spec: FeatureSpec,
  ref: number[],
  refImages: number,
  cur: number[],
  curImages: number,
): number {
  const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
  const sizes = spec.perDetection
    ? { reference: Math.min(refImages, sum(ref)), current: Math.min(curImages, sum(cur)) }
    : undefined;
  const chi = homogeneityTest(ref, cur, sizes).pValue;
  if (spec.kind === 'js') return chi; // class categories have no order
  return Math.min(1, 2 * Math.min(chi, rankSumTest(ref, cur, sizes).pValue));
}

/** Mulberry32: small, seeded, so a report is reproducible. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FLOOR_P = 1e-300;

/**
 * The comparison as a generator that yields after every permutation, so a caller on a server's event
 * loop can spread the work (compareAsync); `compare` simply runs it to the end.
 */
export function* comparing(
  specs: readonly FeatureSpec[],
  reference: readonly BinnedImage[],
  window: readonly BinnedImage[],
  options: { permutations: number; seed?: number },
): Generator<void, Comparison, void> {
  const ref = groupStats(specs, reference);
  const cur = groupStats(specs, window);
  const pValues = specs.map((s, f) =>
    featurePValue(s, ref.counts[f]!, ref.images[f]!, cur.counts[f]!, cur.images[f]!),
  );
  const statistic = (ps: readonly number[]) => ps.reduce((a, p) => a - Math.log(Math.max(p, FLOOR_P)), 0);
  const observed = statistic(pValues);

  const pooled = [...reference, ...window];
  const total = groupStats(specs, pooled);
  const m = window.length;
  const order = pooled.map((_, i) => i);
  const random = seededRandom(options.seed ?? 0x5eed);
  let atLeast = 0;
  const minAtMost = new Array<number>(specs.length).fill(0);
  // Buffers reused by every permutation (the loop would otherwise be dominated by garbage collection).
  const counts = specs.map((s) => new Array<number>(s.bins).fill(0));
  const refCounts = specs.map((s) => new Array<number>(s.bins).fill(0));
  const images = new Array<number>(specs.length).fill(0);
  const ps = new Array<number>(specs.length).fill(1);
  for (let b = 0; b < options.permutations; b++) {
    // Partial Fisher-Yates: the first m positions are this permutation's window.
    for (let i = 0; i < m; i++) {
      const j = i + Math.floor(random() * (order.length - i));
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    for (const c of counts) c.fill(0);
    images.fill(0);
    for (let i = 0; i < m; i++) addImage(counts, images, pooled[order[i]!]!, 1);
    let minP = 1;
    for (let f = 0; f < specs.length; f++) {
      const c = counts[f]!;
      const r = refCounts[f]!;
      const t = total.counts[f]!;
      for (let k = 0; k < c.length; k++) r[k] = t[k]! - c[k]!;
      ps[f] = featurePValue(specs[f]!, r, total.images[f]! - images[f]!, c, images[f]!);
      minP = Math.min(minP, ps[f]!);
    }
    if (statistic(ps) >= observed - 1e-9) atLeast++;
    for (let f = 0; f < specs.length; f++) if (minP <= pValues[f]! * (1 + 1e-9)) minAtMost[f]! += 1;
    yield;
  }
  const B = options.permutations;
  return {
    combinedPValue: (1 + atLeast) / (1 + B),
    features: specs.map((s, f) => ({
      score:
        s.kind === 'js' ? jensenShannon(ref.counts[f]!, cur.counts[f]!) : psi(ref.counts[f]!, cur.counts[f]!),
      pValue: pValues[f]!,
      adjustedPValue: (1 + minAtMost[f]!) / (1 + B),
      referenceCounts: ref.counts[f]!,
      currentCounts: cur.counts[f]!,
      images: cur.images[f]!,
    })),
  };
}

export function compare(...args: Parameters<typeof comparing>): Comparison {
  const it = comparing(...args);
  for (;;) {
    const step = it.next();
    if (step.done === true) return step.value;
  }
}

/** Like compare, giving the event loop a turn every `sliceMs` milliseconds of work. */
export async function compareAsync(
  ...[specs, reference, window, options]: [...Parameters<typeof comparing>]
): Promise<Comparison> {
  const it = comparing(specs, reference, window, options);
  const sliceMs = 2;
  let start = performance.now();
  for (;;) {
    const step = it.next();
    if (step.done === true) return step.value;
    if (performance.now() - start >= sliceMs) {
      await new Promise((resolve) => setImmediate(resolve));
      start = performance.now();
    }
  }
}
