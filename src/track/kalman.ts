/**
 * The constant-velocity Kalman filter ByteTrack uses (from SORT/DeepSORT): state
 * [cx, cy, a, h, vcx, vcy, va, vh] with a = width/height, measurement [cx, cy, a, h], one time step per
 * frame. Process and measurement noise scale with the box height (1/20 of it for position, 1/160 for
 * velocity), except the aspect ratio's, which is fixed.
 */

export type Vec = number[];
export type Mat = number[][];

const POS = 1 / 20;
const VEL = 1 / 160;

const zeros = (r: number, c: number): Mat => Array.from({ length: r }, () => new Array<number>(c).fill(0));
const diag = (v: Vec): Mat => v.map((x, i) => v.map((_, j) => (i === j ? x : 0)));

function mul(a: Mat, b: Mat): Mat {
  const out = zeros(a.length, b[0]!.length);
  for (let i = 0; i < a.length; i++)
    for (let k = 0; k < b.length; k++) {
      const aik = a[i]![k]!;
      if (aik === 0) continue;
      for (let j = 0; j < b[0]!.length; j++) out[i]![j]! += aik * b[k]![j]!;
    }
  return out;
}
const transpose = (a: Mat): Mat => a[0]!.map((_, j) => a.map((row) => row[j]!));
const add = (a: Mat, b: Mat): Mat => a.map((row, i) => row.map((x, j) => x + b[i]![j]!));
const sub = (a: Mat, b: Mat): Mat => a.map((row, i) => row.map((x, j) => x - b[i]![j]!));

/** Inverse of a small symmetric positive-definite matrix (Gauss-Jordan with partial pivoting). */
function inverse(m: Mat): Mat {
  const n = m.length;
  const a = m.map((row, i) => [...row, ...row.map((_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[p]![c]!)) p = r;
    [a[c], a[p]] = [a[p]!, a[c]!];
    const pivot = a[c]![c]!;
    for (let j = 0; j < 2 * n; j++) a[c]![j]! /= pivot;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r]![c]!;
      if (f === 0) continue;
      for (let j = 0; j < 2 * n; j++) a[r]![j]! -= f * a[c]![j]!;
    }
  }
  return a.map((row) => row.slice(n));
}

/** x_{k+1} = F x_k: positions advance by their velocities. */
const F: Mat = diag([1, 1, 1, 1, 1, 1, 1, 1]).map((row, i) => row.map((x, j) => (j === i + 4 ? 1 : x)));
const FT = transpose(F);
const H: Mat = zeros(4, 8).map((row, i) => row.map((_, j) => (i === j ? 1 : 0)));
const HT = transpose(H);

export interface Gaussian {
  mean: Vec;
  cov: Mat;
}

/** A new track from its first measurement: unknown velocity, wide uncertainty. */
export function initiate(z: Vec): Gaussian {
  const h = z[3]!;
  const std = [2 * POS * h, 2 * POS * h, 1e-2, 2 * POS * h, 10 * VEL * h, 10 * VEL * h, 1e-5, 10 * VEL * h];
  return { mean: [...z, 0, 0, 0, 0], cov: diag(std.map((s) => s * s)) };
}

/** One frame ahead. */
export function predict({ mean, cov }: Gaussian): Gaussian {
  const h = mean[3]!;
  const std = [POS * h, POS * h, 1e-2, POS * h, VEL * h, VEL * h, 1e-5, VEL * h];
  const m = mul(
    F,
    mean.map((x) => [x]),
  ).map((r) => r[0]!);
  return { mean: m, cov: add(mul(mul(F, cov), FT), diag(std.map((s) => s * s))) };
}

/** Corrects the state with a measurement [cx, cy, a, h]. */
export function update({ mean, cov }: Gaussian, z: Vec): Gaussian {
  const h = mean[3]!;
  const std = [POS * h, POS * h, 1e-1, POS * h];
  const s = add(mul(mul(H, cov), HT), diag(std.map((x) => x * x)));
  const k = mul(mul(cov, HT), inverse(s)); // 8x4 gain
  const innovation = z.map((v, i) => [v - mean[i]!]);
  const m = add(
    mean.map((x) => [x]),
    mul(k, innovation),
  ).map((r) => r[0]!);
  return { mean: m, cov: sub(cov, mul(mul(k, s), transpose(k))) };
}

/** [x1, y1, x2, y2] <-> [cx, cy, w/h, h]. */
export function toXyah([x1, y1, x2, y2]: readonly number[]): Vec {
  const w = x2! - x1!;
  const h = y2! - y1!;
  return [x1! + w / 2, y1! + h / 2, w / h, h];
}

export function toXyxy(mean: Vec): [number, number, number, number] {
  const [cx, cy, a, h] = mean as [number, number, number, number];
  const w = a * h;
  return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
}
