// Raw yolo11n outputs with onnxruntime-node, for scripts/gpu/check.py --ort-node (machines without Python
// onnxruntime): node ort-raw.mjs <model.onnx> <tensor.f32> <n> <out.f32>. Runs one image at a time, as the
// golden reference did.
import { readFileSync, writeFileSync } from 'node:fs';
import ort from 'onnxruntime-node';

const [model, tensorFile, nText, out] = process.argv.slice(2);
const n = Number(nText);
const bytes = readFileSync(tensorFile);
const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
const plane = data.length / n;
const side = Math.round(Math.sqrt(plane / 3));
const session = await ort.InferenceSession.create(model);
const parts = [];
for (let i = 0; i < n; i++) {
  const input = new ort.Tensor('float32', data.subarray(i * plane, (i + 1) * plane), [1, 3, side, side]);
  const result = await session.run({ [session.inputNames[0]]: input });
  const output = result[session.outputNames[0]].data;
  parts.push(Buffer.from(output.buffer, output.byteOffset, output.byteLength));
}
writeFileSync(out, Buffer.concat(parts));
