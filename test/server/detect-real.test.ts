// The real model behind the server: bus.jpg through the detect route and KServe BYTES and FP32 inputs
// gives the library's detections; real bad images are 4xx. Over loopback HTTP.
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Detector, createServer, decodeImage, type DetectResult } from '../../dist/index.js';
import { writeBytesElements } from '../../dist/server/kserve/binary.js';
import { errorBody, imagePath, listen, modelPath } from './helpers.js';

let app: FastifyInstance;
let base: string;
let detector: Detector;
const bus = readFileSync(imagePath('bus.jpg'));
const zidane = readFileSync(imagePath('zidane.jpg'));
let expectedBus: DetectResult;
let expectedZidane: DetectResult;

type Tensor = {
  name: string;
  datatype: string;
  shape: number[];
  data?: number[];
  parameters?: { binary_data_size?: number };
};

/** The detections of image i, read back out of the KServe output tensors. */
function fromTensors(outputs: Record<string, { shape: number[]; values: ArrayLike<number> }>, i: number) {
  const k = outputs.det_boxes!.shape[1]!;
  const n = outputs.num_dets!.values[i]!;
  return Array.from({ length: n }, (_, j) => ({
    box: Array.from(outputs.det_boxes!.values).slice((i * k + j) * 4, (i * k + j) * 4 + 4),
    conf: outputs.det_scores!.values[i * k + j]!,
    cls: outputs.det_classes!.values[i * k + j]!,
  }));
}

const plain = (r: DetectResult) => r.detections.map((d) => ({ box: d.box, conf: d.conf, cls: d.cls }));

/** Letterbox to 640x640 (nearest-neighbour, pad 114) -> FP32 NCHW in 0..1, and where the image landed. */
async function letterboxTensor(bytes: Buffer) {
  const img = await decodeImage(bytes);
  const size = 640;
  const r = Math.min(size / img.height, size / img.width);
  const nw = Math.round(img.width * r);
  const nh = Math.round(img.height * r);
  const left = Math.round((size - nw) / 2 - 0.1);
  const top = Math.round((size - nh) / 2 - 0.1);
  const t = new Float32Array(3 * size * size).fill(114 / 255);
  for (let y = 0; y < nh; y++) {
    const sy = Math.min(img.height - 1, Math.floor((y + 0.5) / r));
    for (let x = 0; x < nw; x++) {
      const sx = Math.min(img.width - 1, Math.floor((x + 0.5) / r));
      const o = sy * img.stride + sx * 3;
      for (let c = 0; c < 3; c++) t[c * size * size + (y + top) * size + (x + left)] = img.data[o + c]! / 255;
    }
  }
  return { tensor: t, r, left, top };
}

function iou(a: number[], b: number[]): number {
  const w = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const h = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = w * h;
  return inter / ((a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - inter);
}

beforeAll(async () => {
  app = await createServer({
    models: [{ name: 'yolo11n', path: modelPath() }],
    processMetrics: false,
    limits: { bodyLimit: 6 * 1024 * 1024, maxInputPixels: 1_000_000 }, // one FP32 [1,3,640,640] is 4.9 MB
  });
  base = await listen(app);
  detector = await Detector.create({ model: modelPath() });
  const expected = await detector.detectBatch([bus, zidane]);
  expectedBus = expected[0]!;
  expectedZidane = expected[1]!;
});

afterAll(async () => {
  await app?.close();
  await detector?.dispose();
});

describe('the real model over HTTP gives the library detections', () => {
  it('detect route: bus.jpg as image/jpeg', async () => {
    const res = await fetch(`${base}/v2/models/yolo11n/detect`, {
      method: 'POST',
      body: bus,
      headers: { 'content-type': 'image/jpeg' },
    });
    expect(res.status).toBe(200);
    const result = (await res.json()) as DetectResult;
    expect(result).toMatchObject({ width: 810, height: 1080 });
    expect(result.detections).toEqual(expectedBus.detections);
    expect(result.detections.map((d) => d.name).sort()).toEqual([
      'bus',
      'person',
      'person',
      'person',
      'person',
    ]);
  });

  it('detect route: multipart with two images, and query thresholds', async () => {
    const form = new FormData();
    form.append('bus', new Blob([bus], { type: 'image/jpeg' }), 'bus.jpg');
    form.append('zidane', new Blob([zidane], { type: 'image/jpeg' }), 'zidane.jpg');
    const res = await fetch(`${base}/v2/models/yolo11n/detect`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const results = (await res.json()) as DetectResult[];
    expect(results.map((r) => r.detections)).toEqual([expectedBus.detections, expectedZidane.detections]);

    const persons = await fetch(`${base}/v2/models/yolo11n/detect?classes=0&conf=0.5`, {
      method: 'POST',
      body: bus,
      headers: { 'content-type': 'image/jpeg' },
    });
    const onlyPersons = (await persons.json()) as DetectResult;
    expect(onlyPersons.detections).toEqual(expectedBus.detections.filter((d) => d.cls === 0 && d.conf > 0.5));
  });

  it('KServe infer: BYTES in JSON (base64)', async () => {
    const res = await fetch(`${base}/v2/models/yolo11n/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [{ name: 'image_bytes', datatype: 'BYTES', shape: [1], data: [bus.toString('base64')] }],
      }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { outputs: Tensor[] };
    const outputs = Object.fromEntries(
      body.outputs.map((o) => [o.name, { shape: o.shape, values: o.data! }]),
    );
    expect(fromTensors(outputs, 0)).toEqual(plain(expectedBus));
  });

  it('KServe infer: BYTES with the binary extension, two images, binary outputs', async () => {
    const blob = writeBytesElements([bus, zidane]);
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: 'IMAGE', datatype: 'BYTES', shape: [2, 1], parameters: { binary_data_size: blob.length } },
        ],
        parameters: { binary_data_output: true },
      }),
    );
    const res = await fetch(`${base}/v2/models/yolo11n/infer`, {
      method: 'POST',
      body: Buffer.concat([header, blob]),
      headers: {
        'content-type': 'application/octet-stream',
        'inference-header-content-length': String(header.length),
      },
    });
    expect(res.status).toBe(200);
    const raw = Buffer.from(await res.arrayBuffer());
    const hl = Number(res.headers.get('inference-header-content-length'));
    const json = JSON.parse(raw.subarray(0, hl).toString()) as { outputs: Tensor[] };
    let offset = hl;
    const outputs: Record<string, { shape: number[]; values: ArrayLike<number> }> = {};
    for (const o of json.outputs) {
      const size = o.parameters!.binary_data_size!;
      const bytes = new Uint8Array(raw.subarray(offset, offset + size)).buffer;
      offset += size;
      outputs[o.name] = {
        shape: o.shape,
        values: o.datatype === 'FP32' ? new Float32Array(bytes) : new Int32Array(bytes),
      };
    }
    expect(offset).toBe(raw.length);
    expect(fromTensors(outputs, 0)).toEqual(plain(expectedBus));
    expect(fromTensors(outputs, 1)).toEqual(plain(expectedZidane));
  });

  it('KServe infer: a letterboxed FP32 tensor gives boxes in network-input pixels', async () => {
    const { tensor, r, left, top } = await letterboxTensor(bus);
    const [expected] = await detector.detectTensor(tensor, 1);
    const blob = Buffer.from(tensor.buffer);
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          {
            name: 'images',
            datatype: 'FP32',
            shape: [1, 3, 640, 640],
            parameters: { binary_data_size: blob.length },
          },
        ],
      }),
    );
    const res = await fetch(`${base}/v2/models/yolo11n/infer`, {
      method: 'POST',
      body: Buffer.concat([header, blob]),
      headers: { 'inference-header-content-length': String(header.length) },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { outputs: Tensor[] };
    const outputs = Object.fromEntries(
      body.outputs.map((o) => [o.name, { shape: o.shape, values: o.data! }]),
    );
    const got = fromTensors(outputs, 0);
    expect(got).toEqual(plain(expected!));
    // Mapped back through the letterbox, the boxes are bus.jpg's (nearest-neighbour resize: close, not equal).
    for (const want of expectedBus.detections.filter((d) => d.conf > 0.5)) {
      const match = got.find(
        (g) =>
          g.cls === want.cls &&
          iou(
            [(g.box[0]! - left) / r, (g.box[1]! - top) / r, (g.box[2]! - left) / r, (g.box[3]! - top) / r],
            want.box,
          ) > 0.85,
      );
      expect({ want: want.name, found: match !== undefined }).toEqual({ want: want.name, found: true });
    }
  });
});

describe('real bad images are 4xx JSON errors, and the server stays healthy', () => {
  const png = (w: number, h: number) =>
    sharp({ create: { width: w, height: h, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
  const cases: [string, () => Promise<{ body: Buffer; type: string }>, number, string][] = [
    [
      'random bytes',
      async () => ({
        body: Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 7919) % 251)),
        type: 'image/jpeg',
      }),
      415,
      'ERR_UNSUPPORTED_FORMAT',
    ],
    [
      'a truncated JPEG',
      async () => ({ body: bus.subarray(0, Math.floor(bus.length * 0.4)), type: 'image/jpeg' }),
      400,
      'ERR_BAD_IMAGE',
    ],
    [
      'an SVG',
      async () => ({
        body: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'),
        type: 'image/svg+xml',
      }),
      415,
      'ERR_UNSUPPORTED_FORMAT',
    ],
    [
      'too many pixels',
      async () => ({ body: await png(1200, 1000), type: 'image/png' }),
      413,
      'ERR_IMAGE_TOO_LARGE',
    ],
    [
      'a body over the limit',
      async () => ({ body: Buffer.concat([bus, Buffer.alloc(6 * 1024 * 1024)]), type: 'image/jpeg' }),
      413,
      'ERR_BODY_TOO_LARGE',
    ],
  ];

  it.each(cases)('%s', async (_name, make, status, code) => {
    const { body, type } = await make();
    const res = await fetch(`${base}/v2/models/yolo11n/detect`, {
      method: 'POST',
      body,
      headers: { 'content-type': type },
    });
    const text = await res.text();
    expect({ status: res.status, text }).toMatchObject({ status });
    expect(errorBody(text).code).toBe(code);
  });

  it('a truncated image inside a KServe BYTES batch fails that request only', async () => {
    const res = await fetch(`${base}/v2/models/yolo11n/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [
          {
            name: 'x',
            datatype: 'BYTES',
            shape: [2],
            data: [bus.toString('base64'), bus.subarray(0, 5000).toString('base64')],
          },
        ],
      }),
    });
    expect(res.status).toBe(400);
    expect(errorBody(await res.text())).toEqual({
      code: 'ERR_BAD_IMAGE',
      error: expect.stringMatching(/^image 1: /),
    });
  });

  it('still ready and still detecting', async () => {
    expect((await fetch(`${base}/v2/health/ready`)).status).toBe(200);
    const res = await fetch(`${base}/v2/models/yolo11n/detect`, {
      method: 'POST',
      body: bus,
      headers: { 'content-type': 'image/jpeg' },
    });
    expect(((await res.json()) as DetectResult).detections).toEqual(expectedBus.detections);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).not.toMatch(/reason="BACKEND"/);
    expect(metrics).toMatch(/^nv_inference_count\{model="yolo11n",version="1"\} ([1-9]\d*)/m);
  });
});
