// The CPU backend end to end: native letterbox -> onnxruntime worker -> native NMS/scale_boxes, on
// synthetic models whose detections are known exactly, and on yolo11n against the golden detections.
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOnnxRuntimeBackend, resolveOnnxRuntimeOptions } from '../../dist/backends/onnxruntime.js';
import type { OnnxRuntimeBackend } from '../../dist/backends/onnxruntime.js';
import type { Backend, DetectParams } from '../../dist/backends/backend.js';
import { readModelInfo } from '../../dist/model/load-model.js';
import type { ModelInfo } from '../../dist/model/types.js';
import { isYoloTrtError } from '../../dist/errors.js';
import { goldenDetections, imagePath, modelPath } from '../helpers/assets.js';
import { BOX_TOLERANCE, CONF_TOLERANCE } from '../helpers/golden.js';
import { writeSyntheticModel } from '../helpers/synthetic-model.js';
import type { SyntheticModelSpec } from '../helpers/synthetic-model.js';

const PARAMS: DetectParams = { conf: 0.25, iou: 0.7, maxDet: 300, agnostic: false, classes: null };

// Network input 320 wide, 256 high; 3 classes; boxes as [cx, cy, w, h] in input pixels.
const SPEC: SyntheticModelSpec = {
  width: 320,
  height: 256,
  nc: 3,
  names: ['cat', 'dog', 'bird'],
  detections: [
    { anchor: 10, box: [100, 80, 40, 60], scores: [0.9, 0.1, 0.05] }, // A: cat 0.9
    { anchor: 11, box: [102, 82, 40, 60], scores: [0.8, 0, 0] }, // B: cat, overlaps A -> suppressed
    { anchor: 12, box: [100, 80, 40, 60], scores: [0, 0.85, 0] }, // C: dog on A's box: kept (class-aware)
    { anchor: 1000, box: [250, 200, 80, 50], scores: [0, 0, 0.6] }, // D: bird 0.6
    { anchor: 1500, box: [30, 30, 20, 20], scores: [0.25, 0, 0] }, // E: exactly conf -> dropped (strict)
    { anchor: 1679, box: [300, 240, 60, 60], scores: [0, 0.3, 0.2] }, // F: dog 0.3, runs off the corner
  ],
};

/** xyxy in network pixels, score, class: what NMS keeps at the default params, score-descending. */
const KEPT: [number, number, number, number, number, number][] = [
  [80, 50, 120, 110, 0.9, 0], // A
  [80, 50, 120, 110, 0.85, 1], // C
  [210, 175, 290, 225, 0.6, 2], // D
  [270, 210, 330, 270, 0.3, 1], // F
];

/** Python's round(): half to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** scale_boxes exactly as ../shared/docs/ULTRALYTICS.md step 5 says, in float32 like the reference. */
function scaleRow(row: number[], w0: number, h0: number, W = 320, H = 256): number[] {
  const gain = Math.min(H / h0, W / w0);
  const padX = roundHalfEven((W - w0 * gain) / 2 - 0.1);
  const padY = roundHalfEven((H - h0 * gain) / 2 - 0.1);
  const g = Math.fround(gain);
  const f = Math.fround;
  const clamp = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  const [x1, y1, x2, y2, score, cls] = row as [number, number, number, number, number, number];
  return [
    clamp(f(f(x1 - padX) / g), w0),
    clamp(f(f(y1 - padY) / g), h0),
    clamp(f(f(x2 - padX) / g), w0),
    clamp(f(f(y2 - padY) / g), h0),
    f(score),
    cls,
  ];
}

function rowsOf(rows: Float32Array): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < rows.length; i += 6) out.push(Array.from(rows.subarray(i, i + 6)));
  return out;
}

function grayImage(width: number, height: number, value = 90) {
  return {
    data: new Uint8Array(width * height).fill(value),
    width,
    height,
    stride: width,
    format: 'gray' as const,
  };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return isYoloTrtError(err) ? err.code : `not a YoloTrtError: ${String(err)}`;
  }
  return 'resolved';
}

const backends: Backend[] = [];
async function backendFor(spec: SyntheticModelSpec, options = {}): Promise<OnnxRuntimeBackend> {
  const model = await readModelInfo(writeSyntheticModel(spec));
  const backend = (await createOnnxRuntimeBackend(model, {
    intraOpThreads: 1,
    ...options,
  })) as OnnxRuntimeBackend;
  backends.push(backend);
  return backend;
}
afterAll(async () => {
  await Promise.all(backends.map((b) => b.dispose()));
});

describe('resolveOnnxRuntimeOptions', () => {
  const model = { batch: 1 } as ModelInfo;
  const dynamic = { batch: null } as ModelInfo;

  it('sizes the defaults for a 2-core box and a 64-core one', () => {
    expect(resolveOnnxRuntimeOptions(model, {}, 2)).toMatchObject({
      workers: 1,
      intraOpThreads: 2,
      interOpThreads: 1,
    });
    expect(resolveOnnxRuntimeOptions(model, {}, 4)).toMatchObject({ workers: 1, intraOpThreads: 4 });
    expect(resolveOnnxRuntimeOptions(model, {}, 16)).toMatchObject({ workers: 2, intraOpThreads: 8 });
    expect(resolveOnnxRuntimeOptions(model, {}, 64)).toMatchObject({ workers: 8, intraOpThreads: 8 });
    expect(resolveOnnxRuntimeOptions(model, {}, 256)).toMatchObject({ workers: 8, intraOpThreads: 32 });
    expect(resolveOnnxRuntimeOptions(model, { workers: 3 }, 2)).toMatchObject({
      workers: 3,
      intraOpThreads: 1,
    });
  });

  it("spins onnxruntime's idle threads unless told not to", () => {
    expect(resolveOnnxRuntimeOptions(model, {}, 2).spinning).toBe(true);
    expect(resolveOnnxRuntimeOptions(model, { spinning: false }, 2).spinning).toBe(false);
  });

  it('uses the model batch when fixed and maxBatch (default 8) when dynamic', () => {
    expect(resolveOnnxRuntimeOptions(model, { maxBatch: 4 }, 2).maxBatch).toBe(1);
    expect(resolveOnnxRuntimeOptions(dynamic, {}, 2).maxBatch).toBe(8);
    expect(resolveOnnxRuntimeOptions(dynamic, { maxBatch: 3 }, 2).maxBatch).toBe(3);
  });

  it('refuses bad values with ERR_INVALID_OPTION naming the option', () => {
    for (const bad of [
      { workers: 0 },
      { intraOpThreads: 1.5 },
      { interOpThreads: -1 },
      { maxBatch: 'x' },
      { spinning: 'no' },
    ]) {
      let error: unknown;
      try {
        resolveOnnxRuntimeOptions(dynamic, bad as never, 2);
      } catch (err) {
        error = err;
      }
      expect(isYoloTrtError(error, 'ERR_INVALID_OPTION')).toBe(true);
      expect((error as Error).message).toContain(`cpu.${Object.keys(bad)[0]}`);
    }
  });
});

describe('CPU backend on a synthetic model', () => {
  let backend: OnnxRuntimeBackend;
  beforeAll(async () => {
    backend = await backendFor(SPEC);
  });

  it('describes itself', () => {
    expect(backend.name).toBe('cpu');
    expect(backend.maxBatch).toBe(1);
    expect(backend.concurrency).toBe(1);
    expect(backend.describe()).toMatchObject({
      workers: 1,
      intraOpThreads: 1,
      graphOptimizationLevel: 'all',
    });
  });

  it('gives the same rows with idle threads sleeping (spinning off)', async () => {
    const sleeping = await backendFor(SPEC, { spinning: false, intraOpThreads: 2 });
    expect(sleeping.describe()).toMatchObject({ spinning: false, intraOpThreads: 2 });
    const [r] = await sleeping.detect([grayImage(640, 512)], PARAMS);
    expect(rowsOf(r!.rows)).toEqual(KEPT.map((k) => scaleRow(k, 640, 512)));
  });

  it('returns the exact rows for an image twice the input size (no padding)', async () => {
    const [r] = await backend.detect([grayImage(640, 512)], PARAMS);
    expect(rowsOf(r!.rows)).toEqual(KEPT.map((k) => scaleRow(k, 640, 512)));
    // Spot-check the formula itself: 2x scale, F clamped to the image.
    expect(rowsOf(r!.rows)[0]).toEqual([160, 100, 240, 220, Math.fround(0.9), 0]);
    expect(rowsOf(r!.rows)[3]!.slice(0, 4)).toEqual([540, 420, 640, 512]);
  });

  it('returns the exact rows through a letterbox with padding (400x400)', async () => {
    const [r] = await backend.detect([grayImage(400, 400)], PARAMS);
    expect(rowsOf(r!.rows)).toEqual(KEPT.map((k) => scaleRow(k, 400, 400)));
    expect(rowsOf(r!.rows)[0]!.slice(0, 4)).toEqual([75, 78.125, 137.5, 171.875]);
  });

  it('applies agnostic NMS, class filters, maxDet and conf', async () => {
    const img = grayImage(640, 512);
    const classesOf = async (p: Partial<DetectParams>) => {
      const [r] = await backend.detect([img], { ...PARAMS, ...p });
      return rowsOf(r!.rows).map((row) => [row[5], row[4]]);
    };
    const f = Math.fround;
    expect(await classesOf({ agnostic: true })).toEqual([
      [0, f(0.9)],
      [2, f(0.6)],
      [1, f(0.3)],
    ]);
    expect(await classesOf({ classes: [2] })).toEqual([[2, f(0.6)]]);
    expect(await classesOf({ maxDet: 2 })).toEqual([
      [0, f(0.9)],
      [1, f(0.85)],
    ]);
    expect(await classesOf({ conf: 0.7 })).toEqual([
      [0, f(0.9)],
      [1, f(0.85)],
    ]);
    // A looser conf and iou bring back B (IoU with A below 0.99) and E (0.25 > 0.1).
    expect(await classesOf({ conf: 0.1, iou: 0.99 })).toEqual([
      [0, f(0.9)],
      [1, f(0.85)],
      [0, f(0.8)],
      [2, f(0.6)],
      [1, f(0.3)],
      [0, f(0.25)],
    ]);
  });

  it('detects a batch of images of different sizes, in order, with per-image speed', async () => {
    const sizes: [number, number][] = [
      [640, 512],
      [400, 400],
      [1000, 751],
      [33, 17],
    ];
    const results = await backend.detect(
      sizes.map(([w, h]) => grayImage(w, h)),
      PARAMS,
    );
    expect(results).toHaveLength(4);
    results.forEach((r, i) => {
      const [w, h] = sizes[i]!;
      expect(rowsOf(r.rows)).toEqual(KEPT.map((k) => scaleRow(k, w, h)));
      expect(r.speed.inference).toBeGreaterThan(0);
      expect(r.speed.preprocess).toBeGreaterThanOrEqual(0);
      expect(r.speed.postprocess).toBeGreaterThanOrEqual(0);
    });
  });

  it('returns [] for no images', async () => {
    expect(await backend.detect([], PARAMS)).toEqual([]);
  });

  it('detectTensor returns boxes in network-input pixels (clamped) and leaves the tensor intact', async () => {
    const tensor = new Float32Array(2 * 3 * 256 * 320).fill(0.25);
    const results = await backend.detectTensor(tensor, 2, PARAMS);
    expect(results).toHaveLength(2);
    const expected = KEPT.map((k) => scaleRow(k, 320, 256));
    expect(expected[3]!.slice(0, 4)).toEqual([270, 210, 320, 256]);
    for (const r of results) expect(rowsOf(r.rows)).toEqual(expected);
    expect(tensor.length).toBe(2 * 3 * 256 * 320);
    expect(tensor[tensor.length - 1]).toBe(0.25);
  });

  it('an image whose pixels do not match its size fails with the addon code ERR_BAD_IMAGE', async () => {
    const bad = { ...grayImage(64, 64), data: new Uint8Array(10) };
    expect(await codeOf(backend.detect([bad], PARAMS))).toBe('ERR_BAD_IMAGE');
  });

  it('reuses its tensor buffers: the same results on repeated calls', async () => {
    const first = await backend.detect([grayImage(640, 512, 10)], PARAMS);
    for (let i = 0; i < 3; i++) {
      const again = await backend.detect([grayImage(640, 512, 200)], PARAMS);
      expect(rowsOf(again[0]!.rows)).toEqual(rowsOf(first[0]!.rows));
    }
  });

  it('detectTensor refuses a tensor of the wrong size', async () => {
    expect(await codeOf(backend.detectTensor(new Float32Array(100), 1, PARAMS))).toBe('ERR_INVALID_OPTION');
  });

  it('an aborted signal rejects with ABORT_ERR', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    expect(await codeOf(backend.detect([grayImage(64, 64)], PARAMS, controller.signal))).toBe('ABORT_ERR');
    const late = new AbortController();
    const pending = codeOf(
      backend.detect([grayImage(64, 64), grayImage(64, 64), grayImage(64, 64)], PARAMS, late.signal),
    );
    late.abort();
    expect(await pending).toBe('ABORT_ERR');
    // The backend still works afterwards.
    expect(await backend.detect([grayImage(640, 512)], PARAMS)).toHaveLength(1);
  });

  it('a crashed worker fails its job with ERR_INFERENCE and the next call works', async () => {
    backend.pool.crashWorkerForTesting(0);
    expect(await codeOf(backend.detect([grayImage(640, 512)], PARAMS))).toBe('ERR_INFERENCE');
    const [r] = await backend.detect([grayImage(640, 512)], PARAMS);
    expect(rowsOf(r!.rows)).toHaveLength(4);
  });
});

describe('CPU backend batching', () => {
  it('chunks a dynamic-batch model by maxBatch and keeps the order', async () => {
    const backend = await backendFor({ ...SPEC, batch: 'dynamic' }, { maxBatch: 2 });
    expect(backend.maxBatch).toBe(2);
    const sizes = [640, 400, 320, 960, 500];
    const results = await backend.detect(
      sizes.map((w) => grayImage(w, w)),
      PARAMS,
    );
    expect(results.map((r) => rowsOf(r.rows))).toEqual(sizes.map((w) => KEPT.map((k) => scaleRow(k, w, w))));
    const tensorResults = await backend.detectTensor(new Float32Array(5 * 3 * 256 * 320), 5, PARAMS);
    expect(tensorResults).toHaveLength(5);
  });

  it('pads the last chunk of a fixed batch-4 model', async () => {
    const backend = await backendFor({ ...SPEC, batch: 4 });
    expect(backend.maxBatch).toBe(4);
    const results = await backend.detect(
      Array.from({ length: 6 }, () => grayImage(640, 512)),
      PARAMS,
    );
    expect(results).toHaveLength(6);
    for (const r of results) expect(rowsOf(r.rows)).toEqual(KEPT.map((k) => scaleRow(k, 640, 512)));
  });

  it('runs an fp16 model (half input from the addon, half output widened)', async () => {
    const backend = await backendFor({ ...SPEC, inputType: 'float16', outputType: 'float16' });
    const [r] = await backend.detect([grayImage(640, 512)], PARAMS);
    // Scores are rounded to half by the model output (values from numpy's float16).
    const halves = [0.89990234375, 0.85009765625, 0.60009765625, 0.300048828125];
    expect(rowsOf(r!.rows)).toEqual(
      KEPT.map((k, i) => scaleRow([...k.slice(0, 4), halves[i]!, k[5]], 640, 512)),
    );
    const [t] = await backend.detectTensor(new Float32Array(3 * 256 * 320), 1, PARAMS);
    expect(rowsOf(t!.rows)).toHaveLength(4);
  });

  it('several workers share the jobs', async () => {
    const backend = await backendFor({ ...SPEC, batch: 'dynamic' }, { workers: 2, maxBatch: 1 });
    expect(backend.concurrency).toBe(2);
    const results = await backend.detect(
      Array.from({ length: 6 }, () => grayImage(640, 512)),
      PARAMS,
    );
    expect(results.map((r) => rowsOf(r.rows).length)).toEqual([4, 4, 4, 4, 4, 4]);
  });
});

describe('CPU backend errors', () => {
  it('a model onnxruntime cannot run -> ERR_MODEL_LOAD with onnxruntime message', async () => {
    const model = await readModelInfo(writeSyntheticModel({ ...SPEC, unknownOp: true }));
    let error: unknown;
    try {
      backends.push(await createOnnxRuntimeBackend(model));
    } catch (err) {
      error = err;
    }
    expect(isYoloTrtError(error, 'ERR_MODEL_LOAD')).toBe(true);
    expect((error as Error).message).toMatch(/NoSuchOp/);
  });

  it('a model file that disappeared after readModelInfo -> ERR_MODEL_LOAD', async () => {
    const model = await readModelInfo(writeSyntheticModel(SPEC));
    const gone = { ...model, path: model.path + '.missing' };
    expect(await codeOf(createOnnxRuntimeBackend(gone))).toBe('ERR_MODEL_LOAD');
  });

  it('dispose rejects in-flight work with ERR_DISPOSED, and later calls too', async () => {
    const backend = await backendFor({ ...SPEC, batch: 'dynamic' }, { maxBatch: 1 });
    const pending = codeOf(
      backend.detect(
        Array.from({ length: 8 }, () => grayImage(640, 512)),
        PARAMS,
      ),
    );
    await new Promise((r) => setImmediate(r));
    await backend.dispose();
    expect(await pending).toBe('ERR_DISPOSED');
    expect(await codeOf(backend.detect([grayImage(64, 64)], PARAMS))).toBe('ERR_DISPOSED');
    expect(await codeOf(backend.detectTensor(new Float32Array(3 * 256 * 320), 1, PARAMS))).toBe(
      'ERR_DISPOSED',
    );
    await backend.dispose(); // idempotent
  });
});

describe('CPU backend on yolo11n', () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await createOnnxRuntimeBackend(await readModelInfo(modelPath('yolo11n.onnx')));
    backends.push(backend);
  });

  async function rawImage(name: string) {
    const { data, info } = await sharp(imagePath(name))
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, stride: info.width * 3, format: 'rgb' as const };
  }

  it('finds the golden detections on bus.jpg and zidane.jpg (twice: fresh, then recycled buffers)', async () => {
    const golden = goldenDetections();
    const images = [await rawImage('bus.jpg'), await rawImage('zidane.jpg')];
    const results = [...(await backend.detect(images, PARAMS)), ...(await backend.detect(images, PARAMS))];
    for (const [i, key] of ['bus', 'zidane', 'bus', 'zidane'].entries()) {
      const rows = rowsOf(results[i]!.rows);
      const expected = golden[key]!;
      expect(rows).toHaveLength(expected.length);
      expected.forEach((e, k) => {
        const row = rows[k]!;
        expect(row[5]).toBe(e.cls);
        expect(Math.abs(row[4]! - e.conf)).toBeLessThanOrEqual(CONF_TOLERANCE);
        e.box.forEach((v, j) => expect(Math.abs(row[j]! - v)).toBeLessThanOrEqual(BOX_TOLERANCE));
      });
    }
  });
});
