/**
 * Helpers for the native tests: the fixture file written by scripts/make-resize-fixtures.py and the
 * same source-image generators, so large sources never need to be stored.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

import type { NativeImage, PixelFormat } from '../../dist/native/binding.js';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');
export const fixtureDir = join(repoRoot, 'test', 'fixtures', 'resize');
export const assetsDir = resolve(repoRoot, process.env.YOLO_TRT_ASSETS ?? '../shared/assets');

export interface FixtureGeometry {
  newWidth: number;
  newHeight: number;
  left: number;
  top: number;
  ratio: number;
}

export interface FixtureCase {
  name: string;
  source: {
    kind: 'pattern' | 'hash' | 'gray' | 'file';
    width: number;
    height: number;
    channels: 1 | 3;
    file?: string;
  };
  target: { width: number; height: number };
  geometry: FixtureGeometry;
  scaleBoxesPad: { x: number; y: number; gain: number };
  resized: boolean;
  area2x: boolean;
  sha256: string;
  outputFile?: string;
}

export interface FixtureImage {
  file: string;
  width: number;
  height: number;
  decodedSha256: string;
  geometry: FixtureGeometry;
  sha256: string;
}

export interface FixtureDoc {
  opencv: string;
  cases: FixtureCase[];
  images: FixtureImage[];
}

export function loadFixtures(): FixtureDoc {
  return JSON.parse(readFileSync(join(fixtureDir, 'cases.json'), 'utf8')) as FixtureDoc;
}

export function readGz(file: string): Uint8Array {
  return new Uint8Array(gunzipSync(readFileSync(join(fixtureDir, file))));
}

/** Same formula as pattern_source() in the fixture script. */
export function patternValue(x: number, y: number, c: number): number {
  return (x * 7 + y * 13 + c * 29 + ((x * y) % 17) * 11) & 255;
}

/** Same 32-bit hash as hash_source() in the fixture script. */
export function hashValue(x: number, y: number, c: number): number {
  let v = (Math.imul(x, 0x9e3779b1) + Math.imul(y, 0x85ebca77) + Math.imul(c, 0xc2b2ae3d)) >>> 0;
  v = (v ^ (v >>> 16)) >>> 0;
  v = Math.imul(v, 0x7feb352d) >>> 0;
  v = (v ^ (v >>> 15)) >>> 0;
  v = Math.imul(v, 0x846ca68b) >>> 0;
  v = (v ^ (v >>> 16)) >>> 0;
  return v & 255;
}

/** Tightly packed source pixels of a case: RGB (3 channels) or gray (1 channel). */
export interface SourcePixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

export function makeSource(c: FixtureCase): SourcePixels {
  const { width, height, channels, kind } = c.source;
  if (kind === 'file') {
    if (c.source.file === undefined) throw new Error(`${c.name}: file source without a file`);
    return { data: readGz(c.source.file), width, height, channels };
  }
  const f = kind === 'hash' ? hashValue : patternValue;
  const data = new Uint8Array(width * height * channels);
  let i = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let ch = 0; ch < channels; ch++) data[i++] = f(x, y, ch);
    }
  }
  return { data, width, height, channels };
}

const CHANNELS: Record<PixelFormat, number> = { rgb: 3, bgr: 3, rgba: 4, bgra: 4, gray: 1 };

/**
 * Re-lays out packed RGB (or gray) pixels as `format` with `extraStride` garbage bytes after each row,
 * inside a larger buffer at byte offset `offset` (so byteOffset handling is exercised too).
 */
export function toNativeImage(
  src: SourcePixels,
  format: PixelFormat,
  extraStride = 0,
  offset = 0,
): NativeImage {
  if ((format === 'gray') !== (src.channels === 1))
    throw new Error(`cannot make ${format} from ${src.channels} channels`);
  const cn = CHANNELS[format];
  const stride = src.width * cn + extraStride;
  const total = offset + stride * src.height;
  const backing = new Uint8Array(total);
  backing.fill(0xa7); // garbage in offset and row padding
  const data = backing.subarray(offset);
  for (let y = 0; y < src.height; y++) {
    for (let x = 0; x < src.width; x++) {
      const s = (y * src.width + x) * src.channels;
      const d = y * stride + x * cn;
      if (format === 'gray') {
        data[d] = src.data[s]!;
        continue;
      }
      const r = src.data[s]!;
      const g = src.data[s + 1]!;
      const b = src.data[s + 2]!;
      const bgr = format === 'bgr' || format === 'bgra';
      data[d] = bgr ? b : r;
      data[d + 1] = g;
      data[d + 2] = bgr ? r : b;
      if (cn === 4) data[d + 3] = (x * 31 + y * 17) & 255; // alpha must be ignored
    }
  }
  return { data, width: src.width, height: src.height, stride, format };
}

/** NCHW planar image i of a [n, 3, h, w] uint8 tensor -> HWC bytes (the fixture layout). */
export function planarToHwc(tensor: Uint8Array, index: number, w: number, h: number): Uint8Array {
  const plane = w * h;
  const base = index * 3 * plane;
  const out = new Uint8Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    out[3 * p] = tensor[base + p]!;
    out[3 * p + 1] = tensor[base + plane + p]!;
    out[3 * p + 2] = tensor[base + 2 * plane + p]!;
  }
  return out;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** First differing index of two byte arrays (or -1), for readable failures. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
