/**
 * Native postprocess on hand-made raw outputs [batch, 4 + nc, anchors]: threshold, order, NMS with class
 * offsets, filters, caps and scale_boxes, each against the float32 arithmetic of ULTRALYTICS.md.
 */
import { describe, expect, it } from 'vitest';

import type { PostprocessOptions } from '../../dist/native/binding.js';
import { loadNative } from '../../dist/native/load.js';

const native = loadNative();
const f = Math.fround;

interface Anchor {
  cx: number;
  cy: number;
  w: number;
  h: number;
  /** class id -> score (others 0) */
  scores: Record<number, number>;
}

/** Raw output of one image: [4 + nc, anchors] row-major (anchors.length or `total` anchors). */
function makeRaw(nc: number, anchors: Anchor[], total = anchors.length): Float32Array {
  const raw = new Float32Array((4 + nc) * total);
  anchors.forEach((a, i) => {
    raw[i] = a.cx;
    raw[total + i] = a.cy;
    raw[2 * total + i] = a.w;
    raw[3 * total + i] = a.h;
    for (const [k, s] of Object.entries(a.scores)) raw[(4 + Number(k)) * total + i] = s;
  });
  return raw;
}

function opts(nc: number, anchors: number, over: Partial<PostprocessOptions> = {}): PostprocessOptions {
  return {
    dims: [1, 4 + nc, anchors],
    conf: 0.25,
    iou: 0.7,
    maxDet: 300,
    agnostic: false,
    classes: null,
    inputWidth: 640,
    inputHeight: 640,
    origSizes: new Int32Array([640, 640]),
    threads: 1,
    ...over,
  };
}

type Row = [number, number, number, number, number, number];

async function run(raw: Float32Array, o: PostprocessOptions): Promise<Row[][]> {
  const r = await native.postprocess(raw, o);
  expect(r.detections.length).toBe(o.dims[0]);
  return r.detections.map((d) => {
    expect(d).toBeInstanceOf(Float32Array);
    expect(d.length % 6).toBe(0);
    const rows: Row[] = [];
    for (let i = 0; i < d.length; i += 6) rows.push(Array.from(d.subarray(i, i + 6)) as Row);
    return rows;
  });
}

async function runOne(raw: Float32Array, o: PostprocessOptions): Promise<Row[]> {
  return (await run(raw, o))[0]!;
}

const box = (cx: number, cy: number, w: number, h: number, scores: Record<number, number>): Anchor => ({
  cx,
  cy,
  w,
  h,
  scores,
});

describe('decode and threshold', () => {
  it('returns [x1, y1, x2, y2, score, cls] rows with x1 = cx - w/2 in float32', async () => {
    const a = box(100.3, 200.7, 50.1, 30.9, { 2: 0.8 });
    const rows = await runOne(makeRaw(3, [a]), opts(3, 1));
    const [cx, cy, w, h] = [f(100.3), f(200.7), f(50.1), f(30.9)];
    expect(rows).toEqual([
      [f(cx - f(w / 2)), f(cy - f(h / 2)), f(cx + f(w / 2)), f(cy + f(h / 2)), f(0.8), 2],
    ]);
  });

  it('keeps only scores strictly above conf, compared in float32', async () => {
    const anchors = [
      box(50, 50, 20, 20, { 0: 0.25 }), // equal: out
      box(150, 50, 20, 20, { 0: 0.2500001 }), // above: in
      box(250, 50, 20, 20, { 0: 0.3 }), // float32(0.3) > 0.3 in double, but not in float32: out at conf 0.3
    ];
    const at25 = await runOne(makeRaw(1, anchors), opts(1, 3));
    expect(at25.map((r) => r[4])).toEqual([f(0.3), f(0.2500001)]);
    const at30 = await runOne(makeRaw(1, anchors), opts(1, 3, { conf: 0.3 }));
    expect(f(0.3) > 0.3).toBe(true); // so a double comparison would have kept it
    expect(at30).toEqual([]);
  });

  it('takes the first class among equal best scores', async () => {
    const rows = await runOne(makeRaw(5, [box(50, 50, 20, 20, { 1: 0.6, 3: 0.6, 4: 0.5 })]), opts(5, 1));
    expect(rows.map((r) => r[5])).toEqual([1]);
  });

  it('returns an empty Float32Array when nothing passes', async () => {
    const r = await native.postprocess(makeRaw(2, [box(50, 50, 20, 20, { 0: 0.1 })]), opts(2, 1));
    expect(r.detections[0]).toBeInstanceOf(Float32Array);
    expect(r.detections[0]!.length).toBe(0);
  });
});

describe('order and NMS', () => {
  it('orders by score, then by anchor index for equal scores', async () => {
    const anchors = [
      box(50, 50, 20, 20, { 0: 0.5 }),
      box(150, 50, 20, 20, { 0: 0.9 }),
      box(250, 50, 20, 20, { 0: 0.5 }),
      box(350, 50, 20, 20, { 0: 0.5 }),
    ];
    const rows = await runOne(makeRaw(1, anchors), opts(1, 4));
    expect(rows.map((r) => r[0])).toEqual([140, 40, 240, 340]);
  });

  it('keeps the lower anchor index when two overlapping boxes tie', async () => {
    const anchors = [
      box(300, 300, 100, 100, { 0: 0.2 }),
      box(301, 300, 100, 100, { 0: 0.7 }),
      box(300, 300, 100, 100, { 0: 0.7 }),
    ];
    const rows = await runOne(makeRaw(1, anchors), opts(1, 3));
    expect(rows).toHaveLength(1);
    expect(rows[0]![0]).toBe(251); // anchor 1 (cx 301), not anchor 2
  });

  it('suppresses only when iou > threshold (strict)', async () => {
    // A = [0,0,10,10], B = [0,0,10,5]: inter 50, union 100, iou exactly 0.5.
    const anchors = [box(5, 5, 10, 10, { 0: 0.9 }), box(5, 2.5, 10, 5, { 0: 0.8 })];
    expect(await runOne(makeRaw(1, anchors), opts(1, 2, { iou: 0.5 }))).toHaveLength(2);
    expect(await runOne(makeRaw(1, anchors), opts(1, 2, { iou: 0.4999 }))).toHaveLength(1);
  });

  it('never suppresses across classes (class offsets) unless agnostic', async () => {
    const anchors = [
      box(300, 300, 100, 100, { 1: 0.9 }),
      box(300, 300, 100, 100, { 2: 0.8 }),
      box(302, 300, 100, 100, { 1: 0.7 }),
    ];
    const aware = await runOne(makeRaw(3, anchors), opts(3, 3));
    expect(aware.map((r) => [r[4], r[5]])).toEqual([
      [f(0.9), 1],
      [f(0.8), 2],
    ]);
    const agnostic = await runOne(makeRaw(3, anchors), opts(3, 3, { agnostic: true }));
    expect(agnostic.map((r) => [r[4], r[5]])).toEqual([[f(0.9), 1]]);
    // Boxes come back without the offset.
    expect(aware[1]![0]).toBe(250);
  });

  it('filters on the best class (after the argmax), not by re-picking among allowed classes', async () => {
    const anchors = [
      box(50, 50, 20, 20, { 0: 0.9, 2: 0.8 }),
      box(150, 50, 20, 20, { 2: 0.6 }),
      box(250, 50, 20, 20, { 1: 0.7 }),
    ];
    const rows = await runOne(makeRaw(3, anchors), opts(3, 3, { classes: new Int32Array([2]) }));
    expect(rows.map((r) => [r[0], r[5]])).toEqual([[140, 2]]);
    const two = await runOne(makeRaw(3, anchors), opts(3, 3, { classes: new Int32Array([0, 1]) }));
    expect(two.map((r) => r[5])).toEqual([0, 1]);
  });

  it('keeps at most maxDet detections, best first', async () => {
    const anchors = Array.from({ length: 10 }, (_, i) => box(30 + 60 * i, 50, 20, 20, { 0: 0.3 + 0.05 * i }));
    const rows = await runOne(makeRaw(1, anchors), opts(1, 10, { maxDet: 3 }));
    expect(rows.map((r) => r[4])).toEqual([f(0.75), f(0.7), f(0.65)]);
    expect(await runOne(makeRaw(1, anchors), opts(1, 10, { maxDet: 0 }))).toEqual([]);
  });

  it('drops candidates beyond the best 30000 before NMS', async () => {
    // 30000 identical boxes at 0.9 (NMS keeps one) plus one separate box at 0.5, ranked 30001st.
    const make = (copies: number): Float32Array => {
      const anchors = Array.from({ length: copies }, () => box(100, 100, 50, 50, { 0: 0.9 }));
      anchors.push(box(500, 500, 50, 50, { 0: 0.5 }));
      return makeRaw(1, anchors);
    };
    const capped = await runOne(make(30000), opts(1, 30001));
    expect(capped.map((r) => r[4])).toEqual([f(0.9)]);
    const under = await runOne(make(29999), opts(1, 30000));
    expect(under.map((r) => r[4])).toEqual([f(0.9), f(0.5)]);
  });
});

describe('scale_boxes', () => {
  it('uses its own padding from the unrounded size (1000x751: pad_y 80, letterbox top 79)', async () => {
    const a = box(320, 300, 100, 60, { 0: 0.9 });
    const rows = await runOne(makeRaw(1, [a]), opts(1, 1, { origSizes: new Int32Array([1000, 751]) }));
    const gain = f(0.64);
    const expected = [
      f(f(270 - 0) / gain),
      f(f(270 - 80) / gain),
      f(f(370 - 0) / gain),
      f(f(330 - 80) / gain),
    ];
    expect(rows[0]!.slice(0, 4)).toEqual(expected);
    expect(f(f(270 - 79) / gain)).not.toBe(expected[1]); // the letterbox's own top would give another value
    expect(native.letterboxGeometry(1000, 751, 640, 640).top).toBe(79);
  });

  it('uses pad_x 107 for 2x3 (letterbox left is 106)', async () => {
    const a = box(320, 320, 200, 200, { 0: 0.9 });
    const rows = await runOne(makeRaw(1, [a]), opts(1, 1, { origSizes: new Int32Array([2, 3]) }));
    const gain = f(640 / 3);
    expect(rows[0]![0]).toBe(Math.min(2, Math.max(0, f(f(220 - 107) / gain))));
    expect(rows[0]![0]).not.toBe(f(f(220 - 106) / gain));
  });

  it('clamps to the original image', async () => {
    const a = box(10, 630, 60, 40, { 0: 0.9 }); // sticks out left and bottom of a 1280x853 letterbox
    const rows = await runOne(makeRaw(1, [a]), opts(1, 1, { origSizes: new Int32Array([1280, 853]) }));
    expect(rows[0]![0]).toBe(0);
    expect(rows[0]![3]).toBe(853);
    expect(rows[0]![2]).toBe(f(f(40 - 0) / f(0.5)));
  });

  it('is the identity (plus clamping) when the original size is the input size', async () => {
    const rows = await runOne(makeRaw(1, [box(100.25, 200.5, 30, 40, { 0: 0.9 })]), opts(1, 1));
    expect(rows[0]!.slice(0, 4)).toEqual([85.25, 180.5, 115.25, 220.5]);
  });
});

describe('batches', () => {
  it('handles each image of a batch independently and equally on several threads', async () => {
    const nc = 4;
    const per = [
      [box(100, 100, 50, 50, { 0: 0.9 }), box(300, 300, 80, 80, { 3: 0.6 })],
      [box(200, 200, 40, 40, { 1: 0.5 })],
      [box(320, 320, 640, 640, { 2: 0.95 }), box(330, 320, 600, 600, { 2: 0.4 })],
    ];
    const n = 4;
    const raw = new Float32Array(per.length * (4 + nc) * n);
    per.forEach((anchors, i) => raw.set(makeRaw(nc, anchors, n), i * (4 + nc) * n));
    const sizes = new Int32Array([1280, 720, 640, 640, 810, 1080]);
    const base = { ...opts(nc, n), dims: [3, 4 + nc, n] as [number, number, number], origSizes: sizes };
    const one = await run(raw, { ...base, threads: 1 });
    const three = await run(raw, { ...base, threads: 3 });
    expect(three).toEqual(one);
    expect(one.map((rows) => rows.length)).toEqual([2, 1, 1]);
    // Image 0 alone gives the same as inside the batch.
    const alone = await runOne(makeRaw(nc, per[0]!, n), {
      ...opts(nc, n),
      origSizes: new Int32Array([1280, 720]),
    });
    expect(alone).toEqual(one[0]);
    expect(one[2]![0]).toEqual([0, 0, 810, 1080, f(0.95), 2]);
  });
});
