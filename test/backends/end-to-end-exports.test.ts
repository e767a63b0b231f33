// End-to-end exports of other shapes through Detector on the CPU backend: float16 input and output
// (half=True), a fixed batch of 4 (short runs padded), dynamic H/W with the imgsz option, and an output
// whose class column is not a class id. Synthetic models: constant rows, so the boxes follow from
// scale_boxes alone.
import { describe, expect, it } from 'vitest';
import { Detector } from '../../dist/index.js';
import { writeSyntheticModel, type SyntheticModelSpec } from '../helpers/synthetic-model.js';

const f = Math.fround;
/** A gray image of w x h raw RGB pixels. */
const image = (width: number, height: number) => ({
  data: new Uint8Array(width * height * 3).fill(90),
  width,
  height,
  format: 'rgb' as const,
});

const ROWS = [
  [10, 20, 110, 220, 0.9, 2],
  [0, 0, 50, 50, 0.25, 0], // exactly conf: dropped (strict)
  [30, 30, 60, 60, 0.5, 1],
];
const BASE: SyntheticModelSpec = {
  width: 320,
  height: 320,
  nc: 3,
  names: ['a', 'b', 'c'],
  endToEnd: { rows: ROWS, k: 50 },
  extraMetadata: { end2end: 'True' },
};

async function withDetector<T>(
  spec: SyntheticModelSpec,
  run: (d: Detector) => Promise<T>,
  imgsz?: number | [number, number],
) {
  // No warm-up: some specs are deliberately broken, and each test checks what its own calls do.
  const detector = await Detector.create({
    model: writeSyntheticModel(spec),
    backend: 'cpu',
    imgsz,
    warmup: false,
  });
  try {
    return await run(detector);
  } finally {
    await detector.dispose();
  }
}

describe('end-to-end exports on the CPU backend', () => {
  it('float16 input and output (half=True): the rows, widened exactly', async () => {
    const spec = { ...BASE, inputType: 'float16' as const, outputType: 'float16' as const };
    const r = await withDetector(spec, (d) => d.detect(image(320, 320)));
    // float16 rounding of the constants, then widened: 0.9 -> 0.89990234375.
    expect(r.detections.map((d) => [d.cls, d.conf, d.box])).toEqual([
      [2, 0.89990234375, [10, 20, 110, 220]],
      [1, 0.5, [30, 30, 60, 60]],
    ]);
  });

  it('a fixed batch of 4: six images run as 4 + 2 (padded), each gets its rows scaled to its own size', async () => {
    const results = await withDetector({ ...BASE, batch: 4 }, (d) =>
      d.detectBatch([
        image(320, 320),
        image(640, 640),
        image(320, 320),
        image(160, 160),
        image(320, 320),
        image(640, 640),
      ]),
    );
    expect(results.map((r) => r.detections.length)).toEqual([2, 2, 2, 2, 2, 2]);
    expect(results[1]!.detections[0]!.box).toEqual([20, 40, 220, 440]);
    expect(results[3]!.detections[0]!.box).toEqual([5, 10, 55, 110]);
  });

  it('dynamic H/W with imgsz [256, 320]: letterboxed to it, boxes scaled back from it', async () => {
    const spec = { ...BASE, dynamicHW: true, batch: 'dynamic' as const };
    const r = await withDetector(
      spec,
      async (d) => {
        expect(d.model.imgsz).toEqual([256, 320]);
        return d.detect(image(640, 512));
      },
      [256, 320],
    );
    expect(r.detections[0]!.box).toEqual([20, 40, 220, 440]);
    expect(r.detections[0]!.conf).toBe(f(0.9));
  });

  it('classes and maxDet through the API', async () => {
    await withDetector(BASE, async (d) => {
      expect((await d.detect(image(320, 320), { classes: [1] })).detections.map((x) => x.cls)).toEqual([1]);
      expect((await d.detect(image(320, 320), { maxDet: 1 })).detections.map((x) => x.cls)).toEqual([2]);
      expect((await d.detect(image(320, 320), { conf: 0.2 })).detections.map((x) => x.cls)).toEqual([
        2, 0, 1,
      ]);
    });
  });

  it('a row whose class is not one of the model classes rejects ERR_INFERENCE', async () => {
    const spec = { ...BASE, endToEnd: { rows: [[0, 0, 10, 10, 0.9, 3]], k: 10 } };
    await withDetector(spec, async (d) => {
      await expect(d.detect(image(320, 320))).rejects.toMatchObject({ code: 'ERR_INFERENCE' });
      // The detector stays usable.
      await expect(d.detect(image(320, 320), { conf: 0.95 })).resolves.toMatchObject({ detections: [] });
    });
  });
});
