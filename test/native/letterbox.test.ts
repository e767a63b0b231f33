/**
 * Letterbox bit-exactness against Debian's OpenCV 4.6 (fixtures from scripts/make-resize-fixtures.py):
 * every fixture case, every input format, padded strides, offsets, threads, and the three dtypes.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

import type { NativeImage, PixelFormat } from '../../dist/native/binding.js';
import { loadNative } from '../../dist/native/load.js';
import {
  assetsDir,
  firstDifference,
  loadFixtures,
  makeSource,
  planarToHwc,
  readGz,
  sha256,
  toNativeImage,
  type FixtureCase,
} from './fixtures.js';

const native = loadNative();
const doc = loadFixtures();

async function letterboxU8(images: NativeImage[], w: number, h: number, threads = 1): Promise<Uint8Array> {
  const r = await native.preprocess(images, { width: w, height: h, dtype: 'uint8', threads });
  expect(r.tensor).toBeInstanceOf(Uint8Array);
  expect(r.tensor.length).toBe(images.length * 3 * w * h);
  return r.tensor as Uint8Array;
}

function expectMatchesFixture(c: FixtureCase, tensor: Uint8Array, index = 0): void {
  const hwc = planarToHwc(tensor, index, c.target.width, c.target.height);
  if (c.outputFile !== undefined) {
    const want = readGz(c.outputFile);
    const at = firstDifference(hwc, want);
    const where =
      at < 0
        ? ''
        : ` (first difference at x=${Math.floor(at / 3) % c.target.width}, y=${Math.floor(at / 3 / c.target.width)}, c=${at % 3}: ${hwc[at]} vs ${want[at]})`;
    expect(at, `${c.name}${where}`).toBe(-1);
  }
  expect(sha256(hwc), c.name).toBe(c.sha256);
}

const colour = doc.cases.filter((c) => c.source.channels === 3);
const gray = doc.cases.filter((c) => c.source.channels === 1);

describe('letterbox matches OpenCV 4.6 bit for bit', () => {
  it('has the fixture set this test was written for', () => {
    expect(doc.opencv).toBe('4.6.0');
    const names = doc.cases.map((c) => c.name);
    for (const size of [
      '1280x853',
      '1000x751',
      '2x3',
      '3x2',
      '1280x1280',
      '33x17',
      '1x1',
      '641x480',
      '1920x1080',
      '810x1080',
    ]) {
      expect(names).toContain(`pattern-${size}-to-640x640`);
    }
    expect(doc.cases.some((c) => c.area2x)).toBe(true);
    expect(doc.cases.some((c) => !c.resized)).toBe(true);
    expect(doc.cases.filter((c) => c.source.kind === 'file').length).toBeGreaterThanOrEqual(2);
  });

  it.each(colour.map((c) => [c.name, c] as const))('%s (rgb)', async (_name, c) => {
    const src = makeSource(c);
    const r = await native.preprocess([toNativeImage(src, 'rgb')], {
      width: c.target.width,
      height: c.target.height,
      dtype: 'uint8',
      threads: 1,
    });
    expect(r.geometry[0]).toEqual(c.geometry);
    expectMatchesFixture(c, r.tensor as Uint8Array);
  });

  it.each(gray.map((c) => [c.name, c] as const))('%s (gray, padded stride)', async (_name, c) => {
    const src = makeSource(c);
    const t = await letterboxU8([toNativeImage(src, 'gray', 5, 3)], c.target.width, c.target.height);
    expectMatchesFixture(c, t);
  });

  const formatCases = colour.filter((c) =>
    /^(pattern-(1280x853|2x3|33x17|1280x1280|641x480)|hash-1000x751|noise)/.test(c.name),
  );
  const formats: PixelFormat[] = ['bgr', 'rgba', 'bgra'];
  it.each(formatCases.map((c) => [c.name, c] as const))(
    '%s in bgr/rgba/bgra with odd strides and offsets',
    async (_name, c) => {
      const src = makeSource(c);
      for (const [i, format] of formats.entries()) {
        const t = await letterboxU8(
          [toNativeImage(src, format, 2 * i + 1, i + 1)],
          c.target.width,
          c.target.height,
        );
        expectMatchesFixture(c, t);
      }
    },
  );

  it('letterboxes a batch of mixed sizes and formats the same on 1 and 3 threads', async () => {
    const picks = [
      'pattern-1280x853-to-640x640',
      'hash-1000x751-to-640x640',
      'pattern-2x3-to-640x640',
      'gray-33x17-to-640x640',
      'pattern-1280x1280-to-640x640',
      'hash-1920x1080-to-640x640',
    ];
    const cases = picks.map((name) => {
      const c = doc.cases.find((x) => x.name === name);
      if (c === undefined) throw new Error(`missing fixture ${name}`);
      return c;
    });
    const formatsFor: PixelFormat[] = ['rgb', 'bgra', 'bgr', 'gray', 'rgba', 'rgb'];
    const images = cases.map((c, i) => toNativeImage(makeSource(c), formatsFor[i]!, i, i));
    const one = await letterboxU8(images, 640, 640, 1);
    const three = await letterboxU8(images, 640, 640, 3);
    expect(firstDifference(one, three)).toBe(-1);
    cases.forEach((c, i) => expectMatchesFixture(c, three, i));
    // More threads than images: each image is cut into row bands.
    const split = await letterboxU8([images[0]!], 640, 640, 7);
    expectMatchesFixture(cases[0]!, split);
  });
});

describe('tensor dtypes', () => {
  const c = doc.cases.find((x) => x.name === 'hash-1000x751-to-320x256');
  if (c === undefined) throw new Error('missing fixture hash-1000x751-to-320x256');
  const image = toNativeImage(makeSource(c), 'bgr', 3);
  const opts = { width: c.target.width, height: c.target.height, threads: 2 };

  it('float32 is exactly byte / 255 as float32 (a division, not a multiplication by 1/255)', async () => {
    const u8 = (await native.preprocess([image], { ...opts, dtype: 'uint8' })).tensor as Uint8Array;
    const f32 = (await native.preprocess([image], { ...opts, dtype: 'float32' })).tensor;
    expect(f32).toBeInstanceOf(Float32Array);
    expect(f32.length).toBe(u8.length);
    let mismatches = 0;
    for (let i = 0; i < u8.length; i++) if (f32[i] !== Math.fround(u8[i]! / 255)) mismatches++;
    expect(mismatches).toBe(0);
    // The multiplication differs for some bytes, so the check above can tell them apart.
    const differs = Array.from({ length: 256 }, (_, v) => v).filter(
      (v) => Math.fround(v / 255) !== Math.fround(v * Math.fround(1 / 255)),
    );
    expect(differs.length).toBeGreaterThan(0);
    expect(sha256(planarToHwc(u8, 0, c.target.width, c.target.height))).toBe(c.sha256);
  });

  it('float16 is byte / 255 rounded to the nearest half (ties to even)', async () => {
    const u8 = (await native.preprocess([image], { ...opts, dtype: 'uint8' })).tensor as Uint8Array;
    const f16 = (await native.preprocess([image], { ...opts, dtype: 'float16' })).tensor;
    expect(f16).toBeInstanceOf(Uint16Array);
    const table = Array.from({ length: 256 }, (_, v) => nearestHalfBits(Math.fround(v / 255)));
    let mismatches = 0;
    for (let i = 0; i < u8.length; i++) if (f16[i] !== table[u8[i]!]) mismatches++;
    expect(mismatches).toBe(0);
    expect(table[255]).toBe(0x3c00);
    expect(table[114]).toBe(0x3727); // numpy: np.float16(np.float32(114) / 255)
  });

  it('writes into a given output array and returns it', async () => {
    const n = 3 * c.target.width * c.target.height;
    const fresh = (await native.preprocess([image], { ...opts, dtype: 'float32' })).tensor;
    const output = new Float32Array(n).fill(-1);
    const r = await native.preprocess([image], { ...opts, dtype: 'float32', output });
    expect(r.tensor).toBe(output);
    expect(Buffer.from(output.buffer).equals(Buffer.from(fresh.buffer))).toBe(true);
    // A longer array: the result is a view of its first n elements; the rest is untouched.
    const longer = new Float32Array(n + 10).fill(-1);
    const r2 = await native.preprocess([image], { ...opts, dtype: 'float32', output: longer });
    expect(r2.tensor.length).toBe(n);
    expect(r2.tensor.buffer).toBe(longer.buffer);
    expect(longer[n]).toBe(-1);
    expect(longer[n - 1]).toBe(fresh[n - 1]);
  });

  it('accepts pixels and outputs backed by a SharedArrayBuffer', async () => {
    const n = 3 * c.target.width * c.target.height;
    const fresh = (await native.preprocess([image], { ...opts, dtype: 'uint8' })).tensor;
    const pixels = new Uint8Array(new SharedArrayBuffer(image.data.byteLength + 8), 8);
    pixels.set(image.data);
    const output = new Uint8Array(new SharedArrayBuffer(n + 16), 4, n + 4);
    const r = await native.preprocess([{ ...image, data: pixels }], { ...opts, dtype: 'uint8', output });
    expect(r.tensor.length).toBe(n);
    expect(r.tensor.byteOffset).toBe(4);
    expect(Buffer.from(r.tensor.buffer, 4, n).equals(Buffer.from(fresh.buffer, fresh.byteOffset, n))).toBe(
      true,
    );
  });
});

/** Independent float16 rounding: the nearest representable half in [0, 1], ties to the even code. */
function nearestHalfBits(x: number): number {
  const value = (h: number): number => {
    const e = (h >> 10) & 31;
    const m = h & 1023;
    return e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15);
  };
  let best = 0;
  let bestErr = Infinity;
  for (let h = 0; h <= 0x3c00; h++) {
    const err = Math.abs(value(h) - x);
    if (err < bestErr || (err === bestErr && (h & 1) === 0)) {
      best = h;
      bestErr = err;
    }
  }
  return best;
}

describe('geometry', () => {
  it('letterboxGeometry() agrees with the fixtures (including the ratio)', () => {
    for (const c of doc.cases) {
      const g = native.letterboxGeometry(c.source.width, c.source.height, c.target.width, c.target.height);
      expect(g, c.name).toEqual(c.geometry);
    }
  });

  it('rounds half to even like Python (1280x853 -> 640x426, 2x3 -> left 106)', () => {
    expect(native.letterboxGeometry(1280, 853, 640, 640)).toMatchObject({
      newWidth: 640,
      newHeight: 426,
      left: 0,
      top: 107,
    });
    expect(native.letterboxGeometry(2, 3, 640, 640)).toMatchObject({
      newWidth: 427,
      newHeight: 640,
      left: 106,
      top: 0,
    });
    expect(native.letterboxGeometry(1000, 751, 640, 640)).toMatchObject({
      newWidth: 640,
      newHeight: 481,
      top: 79,
    });
  });

  it('keeps at least one pixel of content for extreme aspect ratios', () => {
    const g = native.letterboxGeometry(10000, 1, 640, 640);
    expect(g.newWidth).toBe(640);
    expect(g.newHeight).toBe(1);
  });
});

describe('real images (sharp decode + our letterbox = OpenCV imread + cv2 letterbox)', () => {
  it.each(doc.images.map((img) => [img.file, img] as const))('%s', async (_file, img) => {
    const path = join(assetsDir, img.file);
    expect(existsSync(path), `${path} (set YOLO_TRT_ASSETS)`).toBe(true);
    const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([img.width, img.height, 3]);
    expect(sha256(data), 'sharp decode differs from cv2.imread').toBe(img.decodedSha256);
    const r = await native.preprocess(
      [{ data, width: info.width, height: info.height, stride: info.width * 3, format: 'rgb' }],
      { width: 640, height: 640, dtype: 'uint8', threads: 1 },
    );
    expect(r.geometry[0]).toEqual(img.geometry);
    expect(sha256(planarToHwc(r.tensor as Uint8Array, 0, 640, 640))).toBe(img.sha256);
  });
});
