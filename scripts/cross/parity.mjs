// Digests of the CPU pipeline's outputs (letterbox tensors, NMS rows) for one addon build, so two builds
// (x64 and arm64 under qemu) can be compared byte for byte. No npm dependencies: runs on any Node.
//
//   node scripts/cross/parity.mjs <yolo_trt.node> <assets dir with images/*.rgb> <raw.f32 [n, 84, 8400]>
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const [addonPath, assets, rawPath] = process.argv.slice(2);
const addon = createRequire(import.meta.url)(resolve(addonPath));
const FORMATS = ['rgb', 'bgr', 'rgba', 'bgra', 'gray'];
const digest = (view) =>
  createHash('sha256')
    .update(Buffer.from(view.buffer, view.byteOffset, view.byteLength))
    .digest('hex');

const images = readdirSync(join(assets, 'images'))
  .filter((f) => f.endsWith('.rgb'))
  .sort()
  .map((f) => {
    const b = readFileSync(join(assets, 'images', f));
    const [width, height, stride, format] = [0, 4, 8, 12].map((o) => b.readInt32LE(o));
    return {
      data: new Uint8Array(b.buffer, b.byteOffset + 16, stride * height),
      width,
      height,
      stride,
      format: FORMATS[format],
    };
  });

const out = { arch: process.arch, letterbox: {}, postprocess: {} };
for (const [w, h] of [
  [640, 640],
  [640, 384],
]) {
  for (const dtype of ['float32', 'float16', 'uint8']) {
    const r = await addon.preprocess(images, { width: w, height: h, dtype, threads: 2 });
    out.letterbox[`${w}x${h} ${dtype}`] = digest(r.tensor);
  }
}
const rawBytes = readFileSync(rawPath);
const raw = new Float32Array(rawBytes.buffer, rawBytes.byteOffset, rawBytes.byteLength / 4);
const n = raw.length / (84 * 8400);
const origSizes = Int32Array.from(images.slice(0, n).flatMap((i) => [i.width, i.height]));
const cases = {
  default: { conf: 0.25, iou: 0.7, maxDet: 300, agnostic: false, classes: null },
  'conf 0.001': { conf: 0.001, iou: 0.7, maxDet: 300, agnostic: false, classes: null },
  agnostic: { conf: 0.25, iou: 0.7, maxDet: 300, agnostic: true, classes: null },
  'classes 0,2': { conf: 0.25, iou: 0.7, maxDet: 300, agnostic: false, classes: Int32Array.from([0, 2]) },
};
for (const [name, p] of Object.entries(cases)) {
  const r = await addon.postprocess(raw, {
    dims: [n, 84, 8400],
    ...p,
    inputWidth: 640,
    inputHeight: 640,
    origSizes,
    threads: 2,
  });
  const all = new Float32Array(r.detections.reduce((s, d) => s + d.length, 0));
  let o = 0;
  for (const d of r.detections) {
    all.set(d, o);
    o += d.length;
  }
  out.postprocess[name] = `${all.length / 6} rows ${digest(all)}`;
}
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
