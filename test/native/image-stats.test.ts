/**
 * Content statistics measured in the letterbox pass (native/core/image_stats.h) against a plain JS
 * reference computed from the letterboxed bytes themselves (dtype uint8), content area only.
 */
import { describe, expect, it } from 'vitest';

import { IMAGE_STATS_FIELDS, type NativeImage } from '../../dist/native/binding.js';
import { loadNative } from '../../dist/native/load.js';

const native = loadNative();
const N = IMAGE_STATS_FIELDS.length;

/** A deterministic noisy colour image with structure (so the Laplacian and colourfulness are not trivial). */
function pattern(width: number, height: number, channels: 1 | 3 | 4 = 3, seed = 1): NativeImage {
  const data = new Uint8Array(width * height * channels);
  let s = seed;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        s = (s * 1103515245 + 12345) >>> 0;
        const base = c === 0 ? x * 3 : c === 1 ? y * 2 : (x + y) % 200;
        data[(y * width + x) * channels + c] = (base + (s >>> 27)) & 255;
      }
    }
  }
  const format = channels === 1 ? 'gray' : channels === 3 ? 'rgb' : 'rgba';
  return { data, width, height, stride: width * channels, format };
}

/** Reference statistics from the planar uint8 letterbox of one image, over its content rectangle. */
function reference(
  tensor: Uint8Array,
  index: number,
  W: number,
  H: number,
  g: { newWidth: number; newHeight: number; left: number; top: number },
): number[] {
  const plane = W * H;
  const base = index * 3 * plane;
  const w = g.newWidth;
  const h = g.newHeight;
  const px = (c: number, x: number, y: number) => tensor[base + c * plane + (g.top + y) * W + g.left + x]!;
  const luma = (x: number, y: number) =>
    (px(0, x, y) * 4899 + px(1, x, y) * 9617 + px(2, x, y) * 1868 + 8192) >> 14;
  const n = w * h;
  const sums = [0, 0, 0];
  const sq = [0, 0, 0];
  let ls = 0;
  let lq = 0;
  let rgS = 0;
  let rgQ = 0;
  let ybS = 0;
  let ybQ = 0;
  const lumas: number[] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const r = px(0, x, y);
      const gg = px(1, x, y);
      const b = px(2, x, y);
      [r, gg, b].forEach((v, c) => {
        sums[c]! += v;
        sq[c]! += v * v;
      });
      const l = luma(x, y);
      lumas.push(l);
      ls += l;
      lq += l * l;
      rgS += r - gg;
      rgQ += (r - gg) ** 2;
      const yb = (r + gg) / 2 - b;
      ybS += yb;
      ybQ += yb * yb;
    }
  }
  const sd = (s: number, q: number, k: number) => Math.sqrt(Math.max(0, q / k - (s / k) ** 2));
  lumas.sort((a, b) => a - b);
  const pct = (p: number) => lumas[Math.max(0, Math.ceil(p * n) - 1)]!;
  let lapN = 0;
  let lapS = 0;
  let lapQ = 0;
  for (let y = 1; y + 1 < h; y++) {
    for (let x = 1; x + 1 < w; x++) {
      const v = luma(x, y - 1) + luma(x - 1, y) + luma(x + 1, y) + luma(x, y + 1) - 4 * luma(x, y);
      lapN++;
      lapS += v;
      lapQ += v * v;
    }
  }
  const rgM = rgS / n;
  const ybM = ybS / n;
  const colour =
    Math.sqrt(sd(rgS, rgQ, n) ** 2 + sd(ybS, ybQ, n) ** 2) + 0.3 * Math.sqrt(rgM * rgM + ybM * ybM);
  return [
    sums[0]! / n,
    sums[1]! / n,
    sums[2]! / n,
    sd(sums[0]!, sq[0]!, n),
    sd(sums[1]!, sq[1]!, n),
    sd(sums[2]!, sq[2]!, n),
    ls / n,
    sd(ls, lq, n),
    pct(0.95) - pct(0.05),
    lapN === 0 ? 0 : lapQ / lapN - (lapS / lapN) ** 2,
    colour,
  ];
}

async function run(images: NativeImage[], W: number, H: number, threads: number) {
  const r = await native.preprocess(images, { width: W, height: H, dtype: 'uint8', threads, stats: true });
  expect(r.stats).toBeInstanceOf(Float64Array);
  expect(r.stats!.length).toBe(images.length * N);
  return { tensor: r.tensor as Uint8Array, stats: r.stats!, geometry: r.geometry };
}

describe('image statistics in the letterbox pass', () => {
  it('are absent unless asked for', async () => {
    const r = await native.preprocess([pattern(8, 8)], { width: 16, height: 16, dtype: 'uint8', threads: 1 });
    expect(r.stats).toBeUndefined();
  });

  it('refuses a non-boolean stats option', async () => {
    await expect(
      native.preprocess([pattern(8, 8)], {
        width: 16,
        height: 16,
        dtype: 'uint8',
        threads: 1,
        stats: 1 as unknown as boolean,
      }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
  });

  // Linear resize (down and up), the area 2x path, a plain copy, gray and RGBA inputs.
  const cases: [string, NativeImage, number, number][] = [
    ['linear down, landscape', pattern(301, 173), 128, 128],
    ['linear up, portrait', pattern(37, 61), 96, 160],
    ['area 2x', pattern(128, 96), 64, 64],
    ['copy', pattern(64, 40), 64, 64],
    ['gray', pattern(90, 70, 1), 64, 64],
    ['rgba', pattern(70, 90, 4), 64, 64],
  ];
  for (const [name, image, W, H] of cases) {
    it(`match the reference over the content only (${name})`, async () => {
      const { tensor, stats, geometry } = await run([image], W, H, 1);
      const want = reference(tensor, 0, W, H, geometry[0]!);
      IMAGE_STATS_FIELDS.forEach((field, i) => {
        expect(stats[i], field).toBeCloseTo(want[i]!, 6);
      });
    });
  }

  it('do not depend on how rows are split between threads', async () => {
    const images = [pattern(301, 173, 3, 7), pattern(173, 301, 3, 9)];
    const one = await run(images, 160, 160, 1);
    for (const threads of [2, 5, 16]) {
      const many = await run(images, 160, 160, threads);
      expect(Array.from(many.stats)).toEqual(Array.from(one.stats));
    }
  });

  it('see a flat gray image as flat, colourless and sharpness 0, whatever the padding', async () => {
    const data = new Uint8Array(50 * 20 * 3).fill(200);
    const { stats } = await run([{ data, width: 50, height: 20, stride: 150, format: 'rgb' }], 64, 64, 3);
    expect(Array.from(stats)).toEqual([200, 200, 200, 0, 0, 0, 200, 0, 0, 0, 0]);
  });
});
