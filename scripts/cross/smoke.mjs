// Digests of one addon build's CPU pipeline on synthetic inputs (no assets needed): a prebuild checked
// under qemu-user prints the same digests as the x64 build, or it computes something else.
//
//   node scripts/cross/smoke.mjs <yolo_trt.node>     -> JSON { arch, variant, letterbox, postprocess }
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const addon = createRequire(import.meta.url)(resolve(process.argv[2]));
const digest = (view) =>
  createHash('sha256')
    .update(Buffer.from(view.buffer, view.byteOffset, view.byteLength))
    .digest('hex');

// A fixed pseudo-random sequence (LCG), so both machines build identical inputs.
let seed = 12345;
const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);

function image(width, height, channels, format) {
  const stride = width * channels + 3; // padded rows, as real decoders give
  const data = new Uint8Array(stride * height);
  for (let i = 0; i < data.length; i++) data[i] = next() >>> 24;
  return { data, width, height, stride, format };
}
const images = [image(1280, 853, 3, 'rgb'), image(1000, 751, 4, 'bgra'), image(33, 17, 1, 'gray')];

const out = { arch: process.arch, variant: addon.capabilities().variant, letterbox: {}, postprocess: {} };
for (const dtype of ['float32', 'float16', 'uint8']) {
  const r = await addon.preprocess(images, { width: 640, height: 640, dtype, threads: 2 });
  out.letterbox[dtype] = digest(r.tensor);
}

// A raw [2, 84, 8400] output: low scores everywhere, some anchors with high ones, overlapping boxes.
const n = 2;
const raw = new Float32Array(n * 84 * 8400);
for (let b = 0; b < n; b++) {
  for (let a = 0; a < 8400; a++) {
    const base = b * 84 * 8400;
    raw[base + a] = (next() % 64000) / 100; // cx
    raw[base + 8400 + a] = (next() % 64000) / 100; // cy
    raw[base + 2 * 8400 + a] = 10 + (next() % 20000) / 100; // w
    raw[base + 3 * 8400 + a] = 10 + (next() % 20000) / 100; // h
    for (let c = 0; c < 80; c++) raw[base + (4 + c) * 8400 + a] = (next() % 1000) / 4000;
    if (a % 37 === 0) raw[base + (4 + (a % 80)) * 8400 + a] = 0.3 + (next() % 700) / 1000;
  }
}
const origSizes = Int32Array.from([1280, 853, 1000, 751]);
for (const [name, p] of Object.entries({
  default: { conf: 0.25, iou: 0.7, maxDet: 300, agnostic: false, classes: null },
  agnostic: { conf: 0.25, iou: 0.45, maxDet: 100, agnostic: true, classes: null },
})) {
  const r = await addon.postprocess(raw, {
    dims: [n, 84, 8400],
    ...p,
    inputWidth: 640,
    inputHeight: 640,
    origSizes,
    threads: 2,
  });
  const rows = r.detections.reduce((s, d) => s + d.length, 0);
  const all = new Float32Array(rows);
  let o = 0;
  for (const d of r.detections) {
    all.set(d, o);
    o += d.length;
  }
  out.postprocess[name] = `${rows / 6} rows ${digest(all)}`;
}
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
