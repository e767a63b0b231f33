/**
 * Histograms over bins fixed by a reference sample's quantiles: each bin holds about the same share of
 * the reference, which keeps every bin populated (PSI's usual binning) whatever the feature's scale.
 */

/**
 * Inner bin edges at the reference's i/k quantiles (k = `bins`), duplicates removed. Value v falls in bin
 * j when edges[j - 1] < v <= edges[j]; below or at the first edge is bin 0, above the last is the last bin.
 *
 * A value many references share (an atom: most photos are 640 pixels wide) would otherwise sit in one
 * bin with everything just below it, so a shift from the atom to smaller values (portrait images after a
 * rotation) would stay invisible. Every edge that is an atom of at least one bin's share therefore also
 * gets an edge at the largest reference value below it, isolating the atom in a bin of its own.
 */
export function quantileEdges(values: readonly number[], bins: number): number[] {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return [];
  const candidates = new Set<number>();
  const share = sorted.length / bins;
  for (let i = 1; i < bins; i++) {
    // Lower empirical quantile: the value at rank ceil(q n).
    const rank = Math.max(0, Math.ceil((i / bins) * sorted.length) - 1);
    const edge = sorted[rank]!;
    candidates.add(edge);
    const first = lowerBound(sorted, edge);
    if (first > 0 && upperBound(sorted, edge) - first >= share) candidates.add(sorted[first - 1]!);
  }
  // A last edge equal to the maximum would leave the top bin empty for the reference itself.
  const max = sorted[sorted.length - 1]!;
  return [...candidates].filter((e) => e < max).sort((a, b) => a - b);
}

/** First index whose value is >= v (sorted ascending). */
function lowerBound(sorted: readonly number[], v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose value is > v (sorted ascending). */
function upperBound(sorted: readonly number[], v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Bin index of a value (binary search over the inner edges). */
export function binOf(edges: readonly number[], value: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (value <= edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Counts of values per bin (edges.length + 1 bins); non-finite values are skipped. */
export function histogram(edges: readonly number[], values: Iterable<number>): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of values) if (Number.isFinite(v)) counts[binOf(edges, v)]! += 1;
  return counts;
}
