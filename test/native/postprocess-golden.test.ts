/**
 * Decode + NMS + scale_boxes on recorded raw yolo11n outputs (scripts/record-raw-outputs.mjs) give the
 * golden detections: the post-processing half of parity, without running the network.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadNative } from '../../dist/native/load.js';
import { compareDetections, goldenCases } from '../helpers/golden.js';

const dir = path.resolve('test/fixtures/raw-outputs');
const index = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as {
  shape: [number, number, number];
  images: Record<string, { width: number; height: number }>;
};
const [, channels, anchors] = index.shape;
const cases = goldenCases();

/** The dense [84, 8400] output of one image; anchors that were not recorded score 0 everywhere. */
function rawOutput(key: string): Float32Array {
  const buf = gunzipSync(readFileSync(path.join(dir, `${key}.bin.gz`)));
  const raw = new Float32Array(channels * anchors);
  const count = buf.readUInt32LE(0);
  let o = 4;
  for (let k = 0; k < count; k++) {
    const a = buf.readUInt32LE(o);
    o += 4;
    for (let c = 0; c < channels; c++, o += 4) raw[c * anchors + a] = buf.readFloatLE(o);
  }
  return raw;
}

describe('postprocess on recorded yolo11n outputs', () => {
  it('gives the golden detections for all 10 images in one batch, on several threads', async () => {
    const raw = new Float32Array(cases.length * channels * anchors);
    const origSizes = new Int32Array(cases.length * 2);
    cases.forEach((c, i) => {
      raw.set(rawOutput(c.key), i * channels * anchors);
      origSizes[2 * i] = index.images[c.key]!.width;
      origSizes[2 * i + 1] = index.images[c.key]!.height;
    });
    const result = await loadNative().postprocess(raw, {
      dims: [cases.length, channels, anchors],
      conf: 0.25,
      iou: 0.7,
      maxDet: 300,
      agnostic: false,
      classes: null,
      inputWidth: 640,
      inputHeight: 640,
      origSizes,
      threads: 3,
    });
    cases.forEach((c, i) => {
      const rows = result.detections[i]!;
      const detections = [];
      for (let r = 0; r < rows.length; r += 6) {
        const cls = rows[r + 5]!;
        const name = c.detections.find((d) => d.cls === cls)?.name ?? `class${cls}`;
        detections.push({ box: Array.from(rows.subarray(r, r + 4)), conf: rows[r + 4]!, cls, name });
      }
      expect(compareDetections(detections, c.detections), c.key).toEqual([]);
    });
  });
});
