// The TensorRT backend's end-to-end and dynamic-shape handling around the native calls, without TensorRT:
// engine headers (end2end, args.nms, dynamic, imgsz), the options handed to loadEngine, the ModelInfo of
// an engine, and the engine/model consistency check. The native binding is a fake that records calls.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkEngineMatchesModel,
  createTensorRtBackendFromEngine,
  engineLoadHints,
  engineModelInfo,
} from '../../dist/backends/tensorrt.js';
import { engineHints, joinEngineFile } from '../../dist/model/engine-file.js';
import { readModelInfo } from '../../dist/model/load-model.js';
import type {
  NativeBinding,
  NativeTrtEngine,
  TrtEngineInfo,
  TrtLoadOptions,
} from '../../dist/native/binding.js';
import { modelPath } from '../helpers/assets.js';
import { testTmpDir } from '../helpers/synthetic-model.js';

const COCO = Array.from({ length: 80 }, (_, i) => (i === 0 ? 'person' : `c${i}`));

function engineInfo(over: Partial<TrtEngineInfo> = {}): TrtEngineInfo {
  return {
    inputName: 'images',
    outputName: 'output0',
    inputType: 'float16',
    outputType: 'float16',
    dynamicBatch: true,
    minBatch: 1,
    maxBatch: 8,
    batch: 8,
    width: 640,
    height: 640,
    channels: 300,
    anchors: 6,
    endToEnd: true,
    numClasses: 80,
    contexts: 2,
    maxDet: 300,
    ...over,
  };
}

function fakeEngine(info: TrtEngineInfo): NativeTrtEngine {
  return {
    info,
    detect: () => Promise.reject(new Error('not in these tests')),
    detectTensor: () => Promise.reject(new Error('not in these tests')),
    dispose: () => Promise.resolve(),
  };
}

/** A binding whose TensorRT loads any plan as `info` and records the load options. */
function fakeNative(info: TrtEngineInfo, calls: TrtLoadOptions[]): NativeBinding {
  return {
    capabilities: () => ({
      version: '0.0.0',
      variant: 'tensorrt10',
      cuda: {
        compiled: true,
        runtimeVersion: '12.6',
        driver: '560.0',
        devices: [{ index: 0, name: 'fake', computeCapability: '8.7', memoryBytes: 1 }],
        error: null,
      },
      tensorrt: { compiled: true, version: '10.3.0' },
    }),
    tensorrt: {
      version: '10.3.0',
      compiledVersion: '10.3.0',
      features: { int8Calibration: false, progressMonitor: true, stronglyTyped: false },
      buildEngine: () => {
        throw new Error('not in these tests');
      },
      loadEngine: (_plan: Uint8Array, options: TrtLoadOptions) => {
        calls.push(options);
        return Promise.resolve(fakeEngine(info));
      },
    },
  } as unknown as NativeBinding;
}

function engineFile(header: Record<string, unknown>, name: string): string {
  const file = path.join(testTmpDir(), name);
  writeFileSync(file, joinEngineFile(header, new Uint8Array([1, 2, 3, 4])));
  return file;
}

const names = Object.fromEntries(COCO.map((n, i) => [String(i), n]));

describe('engine headers', () => {
  it('end2end: true, args.nms: true, and end2end: false', () => {
    expect(engineHints({ end2end: true }).endToEnd).toBe(true);
    expect(engineHints({ end2end: false, args: { nms: true, batch: 1 } }).endToEnd).toBe(true);
    expect(engineHints({ end2end: false }).endToEnd).toBe(false);
    expect(engineHints({ args: { nms: false } }).endToEnd).toBeUndefined();
  });

  it('loadEngine hints: the caller imgsz, else the header imgsz only for dynamic=True engines', () => {
    expect(engineLoadHints({ imgsz: [640, 640], dynamic: true, names: COCO }, undefined)).toEqual({
      imgsz: [640, 640],
      numClasses: 80,
    });
    expect(engineLoadHints({ imgsz: [640, 640], dynamic: false }, undefined)).toEqual({ numClasses: 999 });
    expect(engineLoadHints({ imgsz: [640, 640], dynamic: true, endToEnd: true }, [480, 640])).toEqual({
      imgsz: [480, 640],
      endToEnd: true,
      numClasses: 999,
    });
  });
});

describe('engine files through the backend (fake TensorRT)', () => {
  it('a YOLO26-style dynamic=True half=True end2end engine: load options and model info', async () => {
    const file = engineFile(
      { task: 'detect', end2end: true, dynamic: true, half: true, imgsz: [640, 640], stride: 32, names },
      'yolo26n.engine',
    );
    const calls: TrtLoadOptions[] = [];
    const backend = await createTensorRtBackendFromEngine(
      file,
      { imgsz: [480, 640] },
      fakeNative(engineInfo({ height: 480 }), calls),
    );
    expect(calls).toEqual([
      { contexts: 2, maxBatch: 0, maxDet: 300, device: 0, imgsz: [480, 640], endToEnd: true, numClasses: 80 },
    ]);
    expect(backend.model).toMatchObject({
      endToEnd: true,
      outputRows: 300,
      numClasses: 80,
      imgsz: [480, 640],
      batch: null,
      inputType: 'float16',
      ignoredOptions: ['iou', 'agnostic'],
      dynamicHW: true,
    });
    expect(backend.model.names[0]).toBe('person');
    await backend.dispose();
  });

  it('an nms=True YOLO11 engine with a fixed batch of 4', async () => {
    const file = engineFile(
      { task: 'detect', args: { nms: true, batch: 4 }, batch: 4, imgsz: [640, 640], names },
      'nms.engine',
    );
    const calls: TrtLoadOptions[] = [];
    const info = engineInfo({
      dynamicBatch: false,
      minBatch: 4,
      maxBatch: 4,
      batch: 4,
      inputType: 'float32',
      outputType: 'float32',
    });
    const backend = await createTensorRtBackendFromEngine(file, {}, fakeNative(info, calls));
    expect(calls[0]).toEqual({
      contexts: 2,
      maxBatch: 0,
      maxDet: 300,
      device: 0,
      endToEnd: true,
      numClasses: 80,
    });
    expect(backend.model).toMatchObject({
      endToEnd: true,
      batch: 4,
      source: { endToEnd: 'metadata end2end' },
    });
    await backend.dispose();
  });

  it('a pose end-to-end engine is refused before TensorRT loads it', async () => {
    const file = engineFile({ task: 'pose', end2end: true, names: { 0: 'person' } }, 'pose.engine');
    const calls: TrtLoadOptions[] = [];
    await expect(
      createTensorRtBackendFromEngine(file, {}, fakeNative(engineInfo(), calls)),
    ).rejects.toMatchObject({
      code: 'ERR_TASK_UNSUPPORTED',
      message: expect.stringMatching(/'pose' end-to-end model/),
    });
    expect(calls).toEqual([]);
  });

  it('a bare plan whose output is [B, 300, 6]: end-to-end by shape, default names', () => {
    const model = engineModelInfo('/x.plan', null, fakeEngine(engineInfo({ numClasses: 999 })));
    expect(model).toMatchObject({
      endToEnd: true,
      numClasses: 999,
      source: { names: 'default', endToEnd: 'shape' },
    });
    expect(model.names[998]).toBe('class998');
  });

  it('a classic engine stays classic', () => {
    const info = engineInfo({ channels: 84, anchors: 8400, endToEnd: false, numClasses: 80 });
    const model = engineModelInfo('/x.engine', { names }, fakeEngine(info));
    expect(model).toMatchObject({ endToEnd: false, numClasses: 80, numAnchors: 8400, ignoredOptions: [] });
  });
});

describe('engine built from an ONNX must match the model', () => {
  it('yolo11n-e2e.onnx: an end-to-end [300, 6] engine matches, a classic one does not', async () => {
    const model = await readModelInfo(modelPath('yolo11n-e2e.onnx'));
    expect(() => checkEngineMatchesModel(model, fakeEngine(engineInfo()))).not.toThrow();
    const classic = engineInfo({ channels: 84, anchors: 8400, endToEnd: false });
    expect(() => checkEngineMatchesModel(model, fakeEngine(classic))).toThrow(
      expect.objectContaining({
        code: 'ERR_ENGINE_INCOMPATIBLE',
        message: expect.stringMatching(/\[300, 6\] end-to-end/),
      }),
    );
    expect(() => checkEngineMatchesModel(model, fakeEngine(engineInfo({ width: 320 })))).toThrow(
      expect.objectContaining({ code: 'ERR_ENGINE_INCOMPATIBLE' }),
    );
  });

  it('yolo11n.onnx (classic) refuses an end-to-end engine', async () => {
    const model = await readModelInfo(modelPath('yolo11n.onnx'));
    expect(() => checkEngineMatchesModel(model, fakeEngine(engineInfo()))).toThrow(
      expect.objectContaining({ code: 'ERR_ENGINE_INCOMPATIBLE' }),
    );
  });
});
