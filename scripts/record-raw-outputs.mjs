#!/usr/bin/env node
// Records yolo11n's raw outputs [1, 84, 8400] for the golden images, so the postprocess tests can check
// decode + NMS + scale_boxes against the golden detections without running the network.
// Only anchors whose best class score exceeds KEEP_ABOVE are stored (the others can never pass the
// thresholds the tests use), as gzip'd float32: uint32 count, then per anchor uint32 index + 84 floats.
// Run after `npm run build`: node scripts/record-raw-outputs.mjs
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as ort from 'onnxruntime-node';
import { decodeImage } from '../dist/index.js';
import { loadNative } from '../dist/native/load.js';

const KEEP_ABOVE = 0.05;
const assets = path.resolve(process.env.YOLO_TRT_ASSETS ?? '../shared/assets');
const golden = JSON.parse(
  await import('node:fs').then((fs) => fs.readFileSync(path.join(assets, 'golden/yolo11n.json'), 'utf8')),
);
const dirs = ['images', 'datasets/coco8/images/train', 'datasets/coco8/images/val'];
const out = path.resolve('test/fixtures/raw-outputs');
mkdirSync(out, { recursive: true });

const session = await ort.InferenceSession.create(path.join(assets, 'models/yolo11n.onnx'));
const native = loadNative();
const { existsSync } = await import('node:fs');
const index = {};
for (const key of Object.keys(golden)) {
  const file = dirs.map((d) => path.join(assets, d, `${key}.jpg`)).find((f) => existsSync(f));
  const image = await decodeImage(file);
  const pre = await native.preprocess([image], { width: 640, height: 640, dtype: 'float32', threads: 1 });
  const result = await session.run({ images: new ort.Tensor('float32', pre.tensor, [1, 3, 640, 640]) });
  const raw = result[session.outputNames[0]].data;
  const [channels, anchors] = [84, 8400];
  const kept = [];
  for (let a = 0; a < anchors; a++) {
    let best = 0;
    for (let c = 4; c < channels; c++) best = Math.max(best, raw[c * anchors + a]);
    if (best > KEEP_ABOVE) kept.push(a);
  }
  const buf = Buffer.alloc(4 + kept.length * (4 + channels * 4));
  buf.writeUInt32LE(kept.length, 0);
  let o = 4;
  for (const a of kept) {
    buf.writeUInt32LE(a, o);
    o += 4;
    for (let c = 0; c < channels; c++, o += 4) buf.writeFloatLE(raw[c * anchors + a], o);
  }
  writeFileSync(path.join(out, `${key}.bin.gz`), gzipSync(buf, { level: 9 }));
  index[key] = { width: image.width, height: image.height, anchors: kept.length };
}
writeFileSync(
  path.join(out, 'index.json'),
  JSON.stringify(
    { model: 'yolo11n.onnx', shape: [1, 84, 8400], keepAbove: KEEP_ABOVE, images: index },
    null,
    1,
  ) + '\n',
);
console.log(index);
