/**
 * Minimum-cost matching of rows to columns where a pair costing more than `limit` may not be matched
 * (rows and columns may stay unmatched instead). Solved exactly with the Hungarian algorithm on the
 * usual augmented square matrix: each row and column can pair with its own dummy at limit/2, so a real
 * pair is used only when it beats leaving both unmatched.
 */
export function assign(
  cost: readonly (readonly number[])[],
  limit: number,
  /** Number of columns (needed when there are no rows). */
  cols: number = cost[0]?.length ?? 0,
): { matches: [number, number][]; unmatchedRows: number[]; unmatchedCols: number[] } {
  const n = cost.length;
  const m = cols;
  if (n === 0 || m === 0) {
    return { matches: [], unmatchedRows: [...Array(n).keys()], unmatchedCols: [...Array(m).keys()] };
  }
  const size = n + m;
  const BIG = 1e9;
  const c = (i: number, j: number): number => {
    if (i < n && j < m) return cost[i]![j]! <= limit ? cost[i]![j]! : BIG;
    if (i < n) return j - m === i ? limit / 2 : BIG; // row i left unmatched
    if (j < m) return i - n === j ? limit / 2 : BIG; // column j left unmatched
    return 0;
  };
  // Hungarian algorithm with potentials (1-based internals), O(size^3).
  const u = new Array<number>(size + 1).fill(0);
  const v = new Array<number>(size + 1).fill(0);
  const p = new Array<number>(size + 1).fill(0);
  const way = new Array<number>(size + 1).fill(0);
  for (let i = 1; i <= size; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Array<number>(size + 1).fill(Infinity);
    const used = new Array<boolean>(size + 1).fill(false);
    do {
      used[j0] = true;
      const i0 = p[j0]!;
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= size; j++) {
        if (used[j]) continue;
        const cur = c(i0 - 1, j - 1) - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= size; j++) {
        if (used[j]) {
          u[p[j]!]! += delta;
          v[j]! -= delta;
        } else minv[j]! -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  const matches: [number, number][] = [];
  const rowMatched = new Array<boolean>(n).fill(false);
  const colMatched = new Array<boolean>(m).fill(false);
  for (let j = 1; j <= size; j++) {
    const i = p[j]! - 1;
    const col = j - 1;
    if (i < n && col < m && cost[i]![col]! <= limit) {
      matches.push([i, col]);
      rowMatched[i] = true;
      colMatched[col] = true;
    }
  }
  matches.sort((a, b) => a[0] - b[0]);
  return {
    matches,
    unmatchedRows: [...Array(n).keys()].filter((i) => !rowMatched[i]),
    unmatchedCols: [...Array(m).keys()].filter((j) => !colMatched[j]),
  };
}
