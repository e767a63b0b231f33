/**
 * Native end-to-end postprocess on hand-made outputs [batch, K, 6]: strict conf, classes, max_det below
 * the rows above conf, batch > 1 (each image its own rows and its own scale), all rows below conf, and
 * outputs that are not a detect model's. Expected values follow ULTRALYTICS.md's float32 arithmetic.
 */
import { describe, expect, it } from 'vitest';

import type { PostprocessEndToEndOptions } from '../../dist/native/binding.js';
import { loadNative } from '../../dist/native/load.js';
import { isYoloTrtError } from '../../dist/errors.js';
import { callNative } from '../../dist/native/load.js';

const native = loadNative();
const f = Math.fround;

type Row = [number, number, number, number, number, number];

/** K rows per image (zeros after the given ones). */
function makeOutput(images: Row[][], k: number): Float32Array {
  const out = new Float32Array(images.length * k * 6);
  images.forEach((rows, i) => rows.forEach((r, j) => out.set(r, (i * k + j) * 6)));
  return out;
}

function opts(
  batch: number,
  k: number,
  over: Partial<PostprocessEndToEndOptions> = {},
): PostprocessEndToEndOptions {
  return {
    dims: [batch, k, 6],
    numClasses: 4,
    conf: 0.25,
    iou: 0.7,
    maxDet: 300,
    agnostic: false,
    classes: null,
    inputWidth: 64,
    inputHeight: 64,
    origSizes: Int32Array.from(Array.from({ length: batch }, () => [64, 64]).flat()),
    ...over,
  };
}

/** Rows of one image as arrays of 6 numbers. */
function rowsOf(d: Float32Array): number[][] {
  const out: number[][] = [];
  for (let o = 0; o < d.length; o += 6) out.push(Array.from(d.subarray(o, o + 6)));
  return out;
}

const A: Row = [1, 2, 11, 12, 0.9, 0];
const B: Row = [5, 5, 20, 30, 0.8, 2];
const C: Row = [30, 30, 40, 50, 0.6, 1];
const D: Row = [8, 8, 9, 9, 0.3, 2];

describe('postprocessEndToEnd', () => {
  it('keeps rows above conf in the model order, identity scale at the network size', async () => {
    // The model order is kept even when it is not score-descending.
    const r = await native.postprocessEndToEnd(makeOutput([[D, A, B, C]], 8), opts(1, 8));
    expect(rowsOf(r.detections[0]!)).toEqual([D, A, B, C].map((row) => row.map(f)));
  });

  it('conf is strict in float32: a score equal to conf is dropped, the next float up is kept', async () => {
    const at: Row = [0, 0, 1, 1, f(0.5), 1];
    const above: Row = [0, 0, 1, 1, f(0.5) + 2 ** -24, 1];
    const r = await native.postprocessEndToEnd(makeOutput([[at, above]], 2), opts(1, 2, { conf: 0.5 }));
    expect(rowsOf(r.detections[0]!).map((row) => row[4])).toEqual([f(above[4])]);
  });

  it('classes keeps only the listed classes, before max_det counts', async () => {
    const r = await native.postprocessEndToEnd(
      makeOutput([[A, B, C, D]], 4),
      opts(1, 4, { classes: Int32Array.from([2]), maxDet: 1 }),
    );
    expect(rowsOf(r.detections[0]!)).toEqual([B.map(f)]);
  });

  it('max_det smaller than the rows above conf keeps the first max_det in model order', async () => {
    const r = await native.postprocessEndToEnd(makeOutput([[A, B, C, D]], 6), opts(1, 6, { maxDet: 2 }));
    expect(rowsOf(r.detections[0]!)).toEqual([A, B].map((row) => row.map(f)));
    const none = await native.postprocessEndToEnd(makeOutput([[A, B]], 2), opts(1, 2, { maxDet: 0 }));
    expect(none.detections[0]!.length).toBe(0);
  });

  it('iou and agnostic have no effect (overlapping rows of one class all stay)', async () => {
    const dup: Row = [1, 2, 11, 12, 0.85, 0];
    const out = makeOutput([[A, dup]], 2);
    const a = await native.postprocessEndToEnd(out, opts(1, 2, { iou: 0.1, agnostic: true }));
    const b = await native.postprocessEndToEnd(out, opts(1, 2, { iou: 1, agnostic: false }));
    expect(rowsOf(a.detections[0]!).length).toBe(2);
    expect(a.detections[0]).toEqual(b.detections[0]);
  });

  it('all rows below conf give no detections (and zero padding rows are never kept)', async () => {
    const r = await native.postprocessEndToEnd(makeOutput([[D, D]], 300), opts(1, 300, { conf: 0.5 }));
    expect(r.detections[0]!.length).toBe(0);
    const zero = await native.postprocessEndToEnd(new Float32Array(300 * 6), opts(1, 300, { conf: 0 }));
    expect(zero.detections[0]!.length).toBe(0);
  });

  it('batch > 1: each image gets its own rows and its own scale_boxes', async () => {
    const out = makeOutput([[A, B], [C], []], 4);
    // Image 1 is 128x64 letterboxed into 64x64: gain 0.5, pad_y round((64 - 32) / 2 - 0.1) = 16.
    const r = await native.postprocessEndToEnd(
      out,
      opts(3, 4, { origSizes: Int32Array.from([64, 64, 128, 64, 32, 32]) }),
    );
    expect(r.detections.length).toBe(3);
    expect(rowsOf(r.detections[0]!)).toEqual([A, B].map((row) => row.map(f)));
    const gain = f(0.5);
    const sx = (v: number) => Math.min(128, Math.max(0, f(f(v - 0) / gain)));
    const sy = (v: number) => Math.min(64, Math.max(0, f(f(v - 16) / gain)));
    expect(rowsOf(r.detections[1]!)).toEqual([[sx(30), sy(30), sx(40), sy(50), f(0.6), 1]]);
    expect(r.detections[2]!.length).toBe(0);
  });

  it('boxes are clipped to the original image like scale_boxes', async () => {
    const out = makeOutput([[[-5, -3, 70, 80, 0.9, 3]]], 1);
    const r = await native.postprocessEndToEnd(out, opts(1, 1));
    expect(rowsOf(r.detections[0]!)).toEqual([[0, 0, 64, 64, f(0.9), 3]]);
  });

  it('a row above conf whose class is not a class id rejects ERR_INFERENCE', async () => {
    for (const cls of [4, 1.5, -1, Number.NaN]) {
      const out = makeOutput([[A, [0, 0, 1, 1, 0.9, cls]]], 2);
      const err = await callNative(() => native.postprocessEndToEnd(out, opts(1, 2))).catch(
        (e: unknown) => e,
      );
      expect(isYoloTrtError(err), String(cls)).toBe(true);
      expect((err as { code: string }).code).toBe('ERR_INFERENCE');
      expect((err as Error).message).toMatch(/row 1: class column/);
    }
    // Below conf it does not matter (padding rows of some exporters are not zeros).
    const low = makeOutput([[A, [0, 0, 1, 1, 0.1, 99]]], 2);
    expect(rowsOf((await native.postprocessEndToEnd(low, opts(1, 2))).detections[0]!)).toEqual([A.map(f)]);
  });

  it('bad options reject ERR_INVALID_OPTION', async () => {
    const out = makeOutput([[A]], 2);
    const bad: Partial<PostprocessEndToEndOptions>[] = [
      { dims: [1, 2, 7] },
      { dims: [1, 3, 6] },
      { numClasses: 0 },
      { conf: 2 },
      { classes: Int32Array.from([4]) },
      { origSizes: Int32Array.from([64]) },
    ];
    for (const b of bad) {
      const err = await callNative(() => native.postprocessEndToEnd(out, opts(1, 2, b))).catch(
        (e: unknown) => e,
      );
      expect((err as { code?: string }).code, JSON.stringify(b)).toBe('ERR_INVALID_OPTION');
    }
  });
});
