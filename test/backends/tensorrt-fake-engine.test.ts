/**
 * The TensorRT backend and Detector against a fake native engine (no GPU needed): the JS slot queue
 * never lets more calls into native code than there are execution contexts, a sticky CUDA error
 * (deviceLost) marks the backend broken for good while other errors fail one call, an 'auto'
 * detector falls back to the CPU with the reason, and image statistics the engine measured reach the
 * results.
 */
import { describe, expect, it, vi } from 'vitest';
import type { Backend, BackendImageResult } from '../../dist/backends/backend.js';
import { TensorRtBackend } from '../../dist/backends/tensorrt.js';
import type { ModelInfo } from '../../dist/model/types.js';
import {
  IMAGE_STATS_FIELDS,
  type GpuDetectParams,
  type GpuDetectResult,
  type NativeImage,
  type NativeTrtEngine,
  type TrtEngineInfo,
} from '../../dist/native/binding.js';
import { modelPath } from '../helpers/assets.js';

const LOST =
  'cudaStreamSynchronize(GPU pipeline) failed: cudaErrorIllegalAddress (an illegal memory access was encountered): the CUDA device context is lost; restart the process to use the GPU again';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const nativeError = (message: string, extra: Record<string, unknown>) =>
  Object.assign(new Error(message), extra);

/**
 * Behaves like the addon's engine: `contexts` slots, and (like native acquire) a call beyond them fails
 * with ERR_INTERNAL instead of waiting. `fail(k)` decides the k-th call's fate.
 */
class FakeEngine implements NativeTrtEngine {
  readonly info: TrtEngineInfo;
  running = 0;
  maxRunning = 0;
  calls = 0;
  readonly params: GpuDetectParams[] = [];
  disposed = false;
  fail: (k: number) => Error | null = () => null;
  constructor(contexts: number, batch = 1) {
    this.info = {
      inputName: 'images',
      outputName: 'output0',
      inputType: 'float32',
      outputType: 'float32',
      dynamicBatch: batch > 1,
      minBatch: 1,
      maxBatch: batch,
      batch,
      width: 640,
      height: 640,
      channels: 84,
      anchors: 8400,
      endToEnd: false,
      numClasses: 80,
      contexts,
      maxDet: 300,
    };
  }
  /** With params.imageStats, image j of call k gets the statistics k * 1000 + j * 100 + field index. */
  async detect(images: NativeImage[], params?: GpuDetectParams): Promise<GpuDetectResult> {
    const k = this.calls++;
    if (params !== undefined) this.params.push(params);
    if (this.running >= this.info.contexts) {
      throw nativeError('internal error: all execution contexts are busy', { code: 'ERR_INTERNAL' });
    }
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      await sleep(5);
      const err = this.fail(k);
      if (err !== null) throw err;
      const fields = IMAGE_STATS_FIELDS.length;
      return {
        detections: images.map(() => Float32Array.from([1, 2, 3, 4, 0.9, 0])),
        timing: { preprocess: 1, inference: 1, postprocess: 1 },
        ...(params?.imageStats === true
          ? {
              stats: Float64Array.from(
                { length: images.length * fields },
                (_, i) => k * 1000 + Math.floor(i / fields) * 100 + (i % fields),
              ),
            }
          : {}),
      };
    } finally {
      this.running--;
    }
  }
  detectTensor(_tensor: Float32Array, n: number, params: GpuDetectParams): Promise<GpuDetectResult> {
    return this.detect(
      Array.from({ length: n }, () => ({}) as NativeImage),
      params,
    );
  }
  async dispose(): Promise<void> {
    this.disposed = true;
  }
}

const model = { path: 'fake.onnx', imgsz: [640, 640], names: ['person'] } as unknown as ModelInfo;
const params = { conf: 0.25, iou: 0.7, maxDet: 300, agnostic: false, classes: null };
const image = { data: new Uint8Array(3), width: 1, height: 1, format: 'rgb' } as unknown as NativeImage;

describe('TensorRtBackend with a fake engine', () => {
  it('runs 4x contexts concurrent detects without ever exceeding the contexts in native code', async () => {
    const engine = new FakeEngine(2);
    const backend = new TensorRtBackend(model, engine, {});
    const results = await Promise.all(Array.from({ length: 8 }, () => backend.detect([image], params)));
    expect(results).toHaveLength(8);
    expect(engine.calls).toBe(8);
    expect(engine.maxRunning).toBe(2);
  });

  it('refuses a per-call maxDet above the limit the engine was loaded with, naming it', async () => {
    const engine = new FakeEngine(1);
    const backend = new TensorRtBackend(model, engine, {});
    await expect(backend.detect([image], { ...params, maxDet: 301 })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      message: expect.stringMatching(/maxDet <= 300.*tensorrt\.maxDet/) as unknown,
    });
    expect(engine.calls).toBe(0);
    await expect(backend.detect([image], { ...params, maxDet: 300 })).resolves.toHaveLength(1);
  });

  it('asks the engine for image statistics only when told, and hands each image its own, across chunks', async () => {
    const engine = new FakeEngine(1, 2);
    const backend = new TensorRtBackend(model, engine, {});
    const plain = await backend.detect([image, image, image], params);
    expect(plain.map((r) => r.imageStats)).toEqual([undefined, undefined, undefined]);
    expect(engine.params.map((p) => p.imageStats)).toEqual([undefined, undefined]);

    const results = await backend.detect([image, image, image], { ...params, imageStats: true });
    expect(engine.params.slice(2).map((p) => p.imageStats)).toEqual([true, true]);
    const fields = IMAGE_STATS_FIELDS.length;
    // Calls 2 and 3: images 0 and 1 of the first chunk, image 0 of the second.
    const expected = [2000, 2100, 3000].map((base) => Array.from({ length: fields }, (_, f) => base + f));
    expect(results.map((r) => Array.from(r.imageStats ?? []))).toEqual(expected);
  });

  it('never asks for image statistics of a letterboxed tensor (it has no original pixels)', async () => {
    const engine = new FakeEngine(1);
    const backend = new TensorRtBackend(model, engine, {});
    const tensor = new Float32Array(3 * 640 * 640);
    const [result] = await backend.detectTensor(tensor, 1, { ...params, imageStats: true });
    expect(engine.params[0]?.imageStats).toBeUndefined();
    expect(result?.imageStats).toBeUndefined();
  });

  it('a non-sticky CUDA error fails one call; the backend stays usable', async () => {
    const engine = new FakeEngine(1);
    engine.fail = (k) =>
      k === 0 ? nativeError('cudaMalloc failed: out of memory', { code: 'ERR_CUDA' }) : null;
    const backend = new TensorRtBackend(model, engine, {});
    await expect(backend.detect([image], params)).rejects.toMatchObject({ code: 'ERR_CUDA' });
    expect(backend.deviceLost).toBeNull();
    await expect(backend.detect([image], params)).resolves.toHaveLength(1);
  });

  it('a sticky error rejects the in-flight calls and every later one, without calling native again', async () => {
    const engine = new FakeEngine(2);
    engine.fail = () => nativeError(LOST, { code: 'ERR_CUDA', deviceLost: true });
    const backend = new TensorRtBackend(model, engine, {});
    const inFlight = await Promise.allSettled(
      Array.from({ length: 4 }, () => backend.detect([image], params)),
    );
    for (const r of inFlight) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toMatchObject({
        code: 'ERR_CUDA',
        details: { deviceLost: true },
      });
    }
    expect(backend.deviceLost).toContain('cudaErrorIllegalAddress');
    const callsBefore = engine.calls;
    await expect(backend.detect([image], params)).rejects.toMatchObject({
      code: 'ERR_CUDA',
      message: expect.stringMatching(/restart the process/) as unknown,
    });
    expect(engine.calls).toBe(callsBefore);
    expect(backend.describe()).toMatchObject({
      deviceLost: expect.stringContaining('cudaErrorIllegalAddress'),
    });
  });
});

// Detector: the TensorRT backend is the fake above; the CPU fallback is a stub that records calls.
const created: string[] = [];
let gpuEngine: FakeEngine;
vi.mock('../../dist/backends/select.js', () => ({
  selectBackend: (request: string) => ({
    order: request === 'auto' ? ['tensorrt', 'cpu'] : [request],
    reasons: [],
  }),
  tensorrtUnavailableReason: () => null,
}));
vi.mock('../../dist/backends/create.js', () => ({
  createBackend: async (name: string, m: ModelInfo): Promise<Backend> => {
    created.push(name);
    if (name === 'tensorrt') return new TensorRtBackend(m, gpuEngine, {});
    const cpu: Backend = {
      name: 'cpu',
      model: m,
      maxBatch: 1,
      concurrency: 1,
      describe: () => ({ backend: 'cpu' }),
      detect: async (images): Promise<BackendImageResult[]> =>
        images.map(() => ({
          rows: new Float32Array(0),
          speed: { preprocess: 0, inference: 0, postprocess: 0 },
        })),
      detectTensor: async () => [],
      dispose: async () => undefined,
    };
    return cpu;
  },
}));

describe('Detector after a sticky CUDA error', () => {
  const rgb = { data: new Uint8Array(12), width: 2, height: 2, format: 'rgb' as const };

  it("'auto' falls back to the CPU with the reason, and reruns the failed call there", async () => {
    const { Detector } = await import('../../dist/detector.js');
    created.length = 0;
    gpuEngine = new FakeEngine(2);
    gpuEngine.fail = () => nativeError(LOST, { code: 'ERR_CUDA', deviceLost: true });
    const detector = await Detector.create({ model: modelPath(), backend: 'auto', warmup: false });
    expect(detector.backend).toBe('tensorrt');
    const result = await detector.detect(rgb);
    expect(result.detections).toEqual([]);
    expect(detector.backend).toBe('cpu');
    expect(detector.healthy).toBe(true);
    expect(detector.deviceLost).toContain('cudaErrorIllegalAddress');
    expect(detector.backendChoice.reasons.join('\n')).toMatch(/tensorrt: .*cudaErrorIllegalAddress/);
    expect(created).toEqual(['tensorrt', 'cpu']);
    await sleep(1);
    expect(gpuEngine.disposed).toBe(true);
    await detector.dispose();
  });

  it("'tensorrt' returns the engine's image statistics as DetectResult.imageStats", async () => {
    const { Detector } = await import('../../dist/detector.js');
    gpuEngine = new FakeEngine(1);
    const detector = await Detector.create({ model: modelPath(), backend: 'tensorrt', warmup: false });
    const result = await detector.detect(rgb, { imageStats: true });
    expect(result.imageStats).toEqual(Object.fromEntries(IMAGE_STATS_FIELDS.map((f, i) => [f, i])));
    expect((await detector.detect(rgb)).imageStats).toBeUndefined();
    await detector.dispose();
  });

  it("'tensorrt' does not fall back: it turns unhealthy and keeps failing with ERR_CUDA", async () => {
    const { Detector } = await import('../../dist/detector.js');
    created.length = 0;
    gpuEngine = new FakeEngine(1);
    gpuEngine.fail = () => nativeError(LOST, { code: 'ERR_CUDA', deviceLost: true });
    const detector = await Detector.create({ model: modelPath(), backend: 'tensorrt', warmup: false });
    await expect(detector.detect(rgb)).rejects.toMatchObject({ code: 'ERR_CUDA' });
    expect(detector.healthy).toBe(false);
    await expect(detector.detect(rgb)).rejects.toMatchObject({ code: 'ERR_CUDA' });
    expect(created).toEqual(['tensorrt']);
    await detector.dispose();
  });
});
