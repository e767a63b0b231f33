// End to end through the API: yolo11n-e2e.onnx (YOLO11n with a YOLO26-style [batch, 300, 6] head) on the
// golden images gives the reference end-to-end detections (score > conf, first max_det, scale_boxes), one
// by one and in batches; classes / maxDet / conf act as Ultralytics' end-to-end predictor, iou and
// agnostic change nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Detector } from '../../dist/index.js';
import { compareDetections, goldenCases, GOLDEN_E2E, YOLO11N_E2E } from '../helpers/golden.js';

const cases = goldenCases(GOLDEN_E2E);
let detector: Detector;

beforeAll(async () => {
  detector = await Detector.create({ model: YOLO11N_E2E, backend: 'cpu' });
});
afterAll(async () => {
  await detector?.dispose();
});

const byKey = (key: string) => cases.find((c) => c.key === key)!;

describe('yolo11n-e2e parity with the golden end-to-end detections', () => {
  it('the model says it is end-to-end, with iou/agnostic as no-ops', () => {
    expect(cases.length).toBe(10);
    expect(detector.model.endToEnd).toBe(true);
    expect(detector.model.ignoredOptions).toEqual(['iou', 'agnostic']);
    expect(detector.model.batch).toBeNull();
  });

  for (const c of cases) {
    it(`${c.key}: same detections from a file path`, async () => {
      const result = await detector.detect(c.imagePath);
      expect(compareDetections(result.detections, c.detections)).toEqual([]);
    });
  }

  it('detectBatch over all images (batches of up to 8) equals the golden rows, each image its own', async () => {
    const results = await detector.detectBatch(cases.map((c) => c.imagePath));
    results.forEach((r, i) => {
      expect(compareDetections(r.detections, cases[i]!.detections), cases[i]!.key).toEqual([]);
    });
  });

  it('classes keeps the golden rows of those classes, in order', async () => {
    const bus = byKey('bus');
    const r = await detector.detect(bus.imagePath, { classes: [5] });
    const expected = bus.detections.filter((d) => d.cls === 5);
    expect(expected.length).toBeGreaterThan(0);
    expect(compareDetections(r.detections, expected)).toEqual([]);
  });

  it('maxDet smaller than the rows above conf keeps the first maxDet rows', async () => {
    const bus = byKey('bus');
    const r = await detector.detect(bus.imagePath, { maxDet: 7 });
    expect(compareDetections(r.detections, bus.detections.slice(0, 7))).toEqual([]);
  });

  it('a higher conf keeps the golden rows above it', async () => {
    const c = byKey('000000000009');
    const r = await detector.detect(c.imagePath, { conf: 0.5 });
    const expected = c.detections.filter((d) => d.conf > 0.5);
    expect(expected.length).toBeLessThan(c.detections.length);
    expect(compareDetections(r.detections, expected)).toEqual([]);
  });

  it('iou and agnostic have no effect', async () => {
    const z = byKey('zidane');
    const r = await detector.detect(z.imagePath, { iou: 0.1, agnostic: true });
    expect(compareDetections(r.detections, z.detections)).toEqual([]);
  });

  it('conf 0.99 gives no detections', async () => {
    const r = await detector.detect(byKey('bus').imagePath, { conf: 0.99 });
    expect(r.detections).toEqual([]);
  });
});
