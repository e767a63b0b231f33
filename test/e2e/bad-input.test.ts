// Every bad input gets a YoloTrtError with a stable code, and the detector keeps working afterwards.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Detector, YoloTrtError } from '../../dist/index.js';
import { ASSETS_DIR, compareDetections, goldenCases, YOLO11N } from '../helpers/golden.js';

const bus = goldenCases().find((c) => c.key === 'bus')!;
const tmp = mkdtempSync(path.join(tmpdir(), 'yolo-trt-bad-'));
let detector: Detector;

beforeAll(async () => {
  detector = await Detector.create({ model: YOLO11N, backend: 'cpu', limitInputPixels: 4_000_000 });
});
afterAll(async () => {
  await detector?.dispose();
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(YoloTrtError);
    expect((err as Error).message.length).toBeGreaterThan(10);
    return (err as YoloTrtError).code;
  }
  throw new Error('expected a rejection');
}

describe('bad images', () => {
  const busBytes = readFileSync(bus.imagePath);

  it.each([
    ['zero bytes', () => Buffer.alloc(0), 'ERR_BAD_IMAGE'],
    ['a truncated JPEG', () => busBytes.subarray(0, busBytes.length / 2), 'ERR_BAD_IMAGE'],
    [
      'a corrupt JPEG (garbage after the header)',
      () => Buffer.concat([busBytes.subarray(0, 600), Buffer.alloc(5000, 0xab)]),
      'ERR_BAD_IMAGE',
    ],
    [
      'random bytes',
      () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131) & 255)),
      'ERR_UNSUPPORTED_FORMAT',
    ],
    [
      'a BMP (no BMP decoder in sharp)',
      () => Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)]),
      'ERR_UNSUPPORTED_FORMAT',
    ],
    ['text', () => Buffer.from('hello, this is not an image'), 'ERR_UNSUPPORTED_FORMAT'],
    [
      'an SVG (vector formats are refused)',
      () =>
        Buffer.from(
          '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
        ),
      'ERR_UNSUPPORTED_FORMAT',
    ],
  ])('%s -> %s', async (_name, make, code) => {
    expect(await codeOf(detector.detect(make()))).toBe(code);
  });

  it('a missing file -> ERR_IMAGE_NOT_FOUND naming the path', async () => {
    const missing = path.join(tmp, 'nope.jpg');
    await expect(detector.detect(missing)).rejects.toMatchObject({ code: 'ERR_IMAGE_NOT_FOUND' });
    await expect(detector.detect(missing)).rejects.toThrow(missing);
  });

  it('an image over the pixel limit is refused before decoding (decompression bomb)', async () => {
    // 3000x3000 = 9 MP of one colour compresses to a few KB; the limit here is 4 MP.
    const bomb = await sharp({ create: { width: 3000, height: 3000, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    expect(bomb.length).toBeLessThan(200_000);
    expect(await codeOf(detector.detect(bomb))).toBe('ERR_IMAGE_TOO_LARGE');
    // The message says how big the image is and what the limit is.
    await expect(detector.detect(bomb)).rejects.toThrow(
      /is 3000x3000 = 9000000 pixels, over limitInputPixels \(4000000\)/,
    );
    expect(
      await codeOf(detector.detect({ data: new Uint8Array(9), width: 3000, height: 3000, format: 'gray' })),
    ).toBe('ERR_IMAGE_TOO_LARGE');
  });

  it.each([
    ['short data', { data: new Uint8Array(10), width: 4, height: 4, format: 'rgb' }, 'ERR_BAD_IMAGE'],
    [
      'unknown format',
      { data: new Uint8Array(48), width: 4, height: 4, format: 'yuv' },
      'ERR_UNSUPPORTED_FORMAT',
    ],
    ['zero width', { data: new Uint8Array(48), width: 0, height: 4, format: 'rgb' }, 'ERR_INVALID_OPTION'],
    [
      'fractional height',
      { data: new Uint8Array(48), width: 4, height: 2.5, format: 'rgb' },
      'ERR_INVALID_OPTION',
    ],
    [
      'stride too small',
      { data: new Uint8Array(48), width: 4, height: 4, format: 'rgb', stride: 5 },
      'ERR_INVALID_OPTION',
    ],
    ['data not bytes', { data: [1, 2, 3], width: 1, height: 1, format: 'rgb' }, 'ERR_INVALID_OPTION'],
  ])('raw pixels with %s -> %s', async (_name, input, code) => {
    expect(await codeOf(detector.detect(input as never))).toBe(code);
  });

  it('a number or null as input -> ERR_INVALID_OPTION', async () => {
    expect(await codeOf(detector.detect(42 as never))).toBe('ERR_INVALID_OPTION');
    expect(await codeOf(detector.detect(null as never))).toBe('ERR_INVALID_OPTION');
  });

  it('detectBatch rejects on a bad image; detectBatchSettled reports it and still returns the good ones', async () => {
    const inputs = [bus.imagePath, Buffer.from('garbage'), bus.imagePath];
    expect(await codeOf(detector.detectBatch(inputs))).toBe('ERR_UNSUPPORTED_FORMAT');
    const settled = await detector.detectBatchSettled(inputs);
    expect(settled.map((s) => s.ok)).toEqual([true, false, true]);
    const first = settled[0]!;
    if (!first.ok) throw first.error;
    expect(compareDetections(first.result.detections, bus.detections)).toEqual([]);
    const bad = settled[1]!;
    expect(bad.ok ? '' : bad.error.code).toBe('ERR_UNSUPPORTED_FORMAT');
  });
});

describe('bad options', () => {
  it.each([
    [{ conf: 1.5 }, 'conf'],
    [{ conf: -0.1 }, 'conf'],
    [{ conf: Number.NaN }, 'conf'],
    [{ iou: 2 }, 'iou'],
    [{ maxDet: -1 }, 'maxDet'],
    [{ maxDet: 0 }, 'maxDet'],
    [{ maxDet: 1.5 }, 'maxDet'],
    [{ classes: [80] }, 'classes'],
    [{ classes: [-1] }, 'classes'],
    [{ classes: 'person' }, 'classes'],
    [{ agnostic: 'yes' }, 'agnostic'],
    [{ signal: 'x' }, 'signal'],
  ])('%o -> ERR_INVALID_OPTION naming %s', async (options, name) => {
    const p = detector.detect(bus.imagePath, options as never);
    await expect(p).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await expect(detector.detect(bus.imagePath, options as never)).rejects.toThrow(name);
  });

  it('Detector.create validates its options and the model', async () => {
    await expect(Detector.create({} as never)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await expect(Detector.create({ model: YOLO11N, backend: 'gpu' as never })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
    });
    await expect(Detector.create({ model: YOLO11N, classes: [99] })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
    });
    await expect(Detector.create({ model: YOLO11N, cpu: { workers: 0 } })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
    });
    await expect(Detector.create({ model: path.join(tmp, 'missing.onnx') })).rejects.toMatchObject({
      code: 'ERR_MODEL_NOT_FOUND',
    });
    const notOnnx = path.join(tmp, 'not.onnx');
    writeFileSync(notOnnx, 'this is not a protobuf at all, just words');
    await expect(Detector.create({ model: notOnnx })).rejects.toMatchObject({ code: 'ERR_MODEL_INVALID' });
    await expect(
      Detector.create({ model: path.join(ASSETS_DIR, 'models/yolo11n-seg.onnx') }),
    ).rejects.toMatchObject({
      code: 'ERR_TASK_UNSUPPORTED',
    });
  });

  it('a TensorRT engine file needs the tensorrt backend: refused on cpu, unavailable here', async () => {
    const engine = path.join(tmp, 'model.engine');
    writeFileSync(engine, Buffer.from([2, 0, 0, 0, 0x7b, 0x7d, 1, 2, 3]));
    await expect(Detector.create({ model: engine, backend: 'cpu' })).rejects.toMatchObject({
      code: 'ERR_MODEL_UNSUPPORTED',
    });
    // No TensorRT in this build / no driver on this machine: a coded refusal, never a crash.
    await expect(Detector.create({ model: engine })).rejects.toMatchObject({
      code: expect.stringMatching(/^ERR_(BACKEND_UNAVAILABLE|NO_CUDA_DRIVER)$/),
    });
  });

  it('per-call options work and are not sticky', async () => {
    const strict = await detector.detect(bus.imagePath, { conf: 0.85 });
    expect(strict.detections.length).toBe(2);
    const busOnly = await detector.detect(bus.imagePath, { classes: [5] });
    expect(busOnly.detections.map((d) => d.name)).toEqual(['bus']);
    const one = await detector.detect(bus.imagePath, { maxDet: 1 });
    expect(one.detections.length).toBe(1);
    const again = await detector.detect(bus.imagePath);
    expect(compareDetections(again.detections, bus.detections)).toEqual([]);
  });
});

describe('abort and dispose', () => {
  it('an aborted signal rejects with AbortError / ABORT_ERR', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(detector.detect(bus.imagePath, { signal: ac.signal })).rejects.toMatchObject({
      code: 'ABORT_ERR',
      name: 'AbortError',
    });
    const later = new AbortController();
    const p = detector.detectBatch([bus.imagePath, bus.imagePath, bus.imagePath], { signal: later.signal });
    later.abort(new Error('client went away'));
    await expect(p).rejects.toMatchObject({ code: 'ABORT_ERR' });
    // Still usable afterwards.
    const r = await detector.detect(bus.imagePath);
    expect(compareDetections(r.detections, bus.detections)).toEqual([]);
  });

  it('use after dispose -> ERR_DISPOSED; dispose is idempotent; await using works', async () => {
    const d = await Detector.create({ model: YOLO11N, backend: 'cpu' });
    await d.dispose();
    await d.dispose();
    expect(d.disposed).toBe(true);
    await expect(d.detect(bus.imagePath)).rejects.toMatchObject({ code: 'ERR_DISPOSED' });
    const e = await Detector.create({ model: YOLO11N, backend: 'cpu' });
    await e[Symbol.asyncDispose]();
    await expect(e.detectBatch([bus.imagePath])).rejects.toMatchObject({ code: 'ERR_DISPOSED' });
  });

  it('the detector still answers after all of the above', async () => {
    const r = await detector.detect(bus.imagePath);
    expect(compareDetections(r.detections, bus.detections)).toEqual([]);
  });
});
