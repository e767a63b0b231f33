// End to end: yolo11n.onnx on the golden images gives the reference pipeline's detections, for every way
// an image can be handed to detect().
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Detector } from '../../dist/index.js';
import { compareDetections, goldenCases, YOLO11N } from '../helpers/golden.js';

const cases = goldenCases();
let detector: Detector;

beforeAll(async () => {
  detector = await Detector.create({ model: YOLO11N, backend: 'cpu' });
});
afterAll(async () => {
  await detector?.dispose();
});

describe('yolo11n parity with the golden detections', () => {
  it('covers the 10 golden images', () => {
    expect(cases.length).toBe(10);
  });

  for (const c of cases) {
    it(`${c.key}: same detections from a file path`, async () => {
      const result = await detector.detect(c.imagePath);
      expect(compareDetections(result.detections, c.detections)).toEqual([]);
    });
  }

  it('detectBatch over all images equals one-by-one results, in input order', async () => {
    const results = await detector.detectBatch(cases.map((c) => c.imagePath));
    results.forEach((r, i) => {
      expect(compareDetections(r.detections, cases[i]!.detections), cases[i]!.key).toEqual([]);
    });
  });

  it('bus.jpg: the 4 persons and 1 bus, with sizes and speed', async () => {
    const r = await detector.detect(cases.find((c) => c.key === 'bus')!.imagePath);
    expect(r.width).toBe(810);
    expect(r.height).toBe(1080);
    expect(r.detections.map((d) => d.name).sort()).toEqual(['bus', 'person', 'person', 'person', 'person']);
    for (const k of ['preprocess', 'inference', 'postprocess'] as const) {
      expect(r.speed[k]).toBeGreaterThanOrEqual(0);
    }
    expect(r.speed.inference).toBeGreaterThan(0);
  });
});

describe('input forms give identical results', () => {
  const zidane = () => cases.find((c) => c.key === 'zidane')!;

  it('a Buffer and a Uint8Array of the encoded file', async () => {
    const bytes = readFileSync(zidane().imagePath);
    const fromBuffer = await detector.detect(bytes);
    const fromU8 = await detector.detect(new Uint8Array(bytes));
    expect(compareDetections(fromBuffer.detections, zidane().detections)).toEqual([]);
    expect(fromU8.detections).toEqual(fromBuffer.detections);
  });

  it('raw RGB, BGR, RGBA, BGRA pixels and a padded stride', async () => {
    const { data, info } = await sharp(zidane().imagePath).raw().toBuffer({ resolveWithObject: true });
    const { width, height } = info;
    const n = width * height;
    const bgr = new Uint8Array(n * 3);
    const rgba = new Uint8Array(n * 4);
    const bgra = new Uint8Array(n * 4);
    const stride = width * 3 + 13;
    const padded = new Uint8Array(stride * height).fill(7);
    for (let p = 0; p < n; p++) {
      const r = data[p * 3]!,
        g = data[p * 3 + 1]!,
        b = data[p * 3 + 2]!;
      bgr.set([b, g, r], p * 3);
      rgba.set([r, g, b, 200], p * 4);
      bgra.set([b, g, r, 10], p * 4);
    }
    for (let y = 0; y < height; y++)
      padded.set(data.subarray(y * width * 3, (y + 1) * width * 3), y * stride);
    const inputs = [
      { data, width, height, format: 'rgb' as const },
      { data: bgr, width, height, format: 'bgr' as const },
      { data: rgba, width, height, format: 'rgba' as const },
      { data: bgra, width, height, format: 'bgra' as const },
      { data: padded, width, height, stride, format: 'rgb' as const },
    ];
    const results = await detector.detectBatch(inputs);
    for (const r of results) expect(compareDetections(r.detections, zidane().detections)).toEqual([]);
  });

  it('a grayscale image gives the same boxes as its 3-channel replica', async () => {
    const { data, info } = await sharp(zidane().imagePath)
      .greyscale()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const rgb = new Uint8Array(data.length * 3);
    data.forEach((v, i) => rgb.set([v, v, v], i * 3));
    const [gray, replica] = await detector.detectBatch([
      { data, width: info.width, height: info.height, format: 'gray' },
      { data: rgb, width: info.width, height: info.height, format: 'rgb' },
    ]);
    expect(gray!.detections).toEqual(replica!.detections);
    expect(gray!.detections.length).toBeGreaterThan(0);
  });

  it('a PNG re-encode of the decoded pixels gives the same detections (lossless path)', async () => {
    const png = await sharp(zidane().imagePath).png().toBuffer();
    const r = await detector.detect(png);
    expect(compareDetections(r.detections, zidane().detections)).toEqual([]);
  });

  it('applies EXIF orientation like OpenCV imread: a rotated copy tagged Orientation=6 gives the same boxes', async () => {
    // Store the pixels rotated 90deg counter-clockwise and tag them "rotate 90 CW to display": decoding
    // must undo it and land on the original pixels.
    const { data, info } = await sharp(zidane().imagePath).raw().toBuffer({ resolveWithObject: true });
    const stored = await sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
      .rotate(-90)
      .png()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const r = await detector.detect(stored);
    expect(r.width).toBe(info.width);
    expect(r.height).toBe(info.height);
    expect(compareDetections(r.detections, zidane().detections)).toEqual([]);
  });
});
