// readModelInfo on the real shared models, on synthetic models of other shapes, and on files that are
// not models at all.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModelInfo } from '../../dist/model/load-model.js';
import { isYoloTrtError } from '../../dist/errors.js';
import { modelPath } from '../helpers/assets.js';
import { anchorsFor, pythonNames, testTmpDir, writeSyntheticModel } from '../helpers/synthetic-model.js';

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    if (!isYoloTrtError(err)) throw err;
    return { code: err.code, message: err.message };
  }
  throw new Error('expected readModelInfo to fail');
}

function tmpFile(name: string, bytes: Uint8Array | string): string {
  const file = path.join(testTmpDir(), name);
  writeFileSync(file, bytes);
  return file;
}

const COCO_FIRST = ['person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck'];

describe('readModelInfo on the shared models', () => {
  it('reads yolo11n.onnx', async () => {
    const info = await readModelInfo(modelPath('yolo11n.onnx'));
    expect(info.path).toBe(path.resolve(modelPath('yolo11n.onnx')));
    expect(info.names).toHaveLength(80);
    expect(info.names.slice(0, 8)).toEqual(COCO_FIRST);
    expect(info.names[9]).toBe('traffic light');
    expect(info.names[79]).toBe('toothbrush');
    expect(info.imgsz).toEqual([640, 640]);
    expect(info.stride).toBe(32);
    expect(info.batch).toBe(1);
    expect(info.task).toBe('detect');
    expect(info.inputName).toBe('images');
    expect(info.outputName).toBe('output0');
    expect(info.inputType).toBe('float32');
    expect(info.numClasses).toBe(80);
    expect(info.numAnchors).toBe(8400);
    expect(info.source).toEqual({ names: 'metadata', imgsz: 'metadata', endToEnd: null });
    expect(info.metadata['task']).toBe('detect');
    expect(info.metadata['author']).toBe('Ultralytics');
  });

  it('reads yolo11n-dynint8.onnx (a quantized detect model)', async () => {
    const info = await readModelInfo(modelPath('yolo11n-dynint8.onnx'));
    expect(info.task).toBe('detect');
    expect(info.names).toHaveLength(80);
    expect(info.numAnchors).toBe(8400);
    expect(info.batch).toBe(1);
  });

  it('refuses yolo11n-seg.onnx with ERR_TASK_UNSUPPORTED naming the task', async () => {
    const f = await failure(readModelInfo(modelPath('yolo11n-seg.onnx')));
    expect(f.code).toBe('ERR_TASK_UNSUPPORTED');
    expect(f.message).toMatch(/'segment'/);
    expect(f.message).toMatch(/only 'detect'/);
  });
});

describe('readModelInfo on files that are not models', () => {
  it('missing file -> ERR_MODEL_NOT_FOUND with the path', async () => {
    const missing = path.join(testTmpDir(), 'does-not-exist.onnx');
    const f = await failure(readModelInfo(missing));
    expect(f.code).toBe('ERR_MODEL_NOT_FOUND');
    expect(f.message).toContain(missing);
  });

  it('a directory -> ERR_MODEL_NOT_FOUND', async () => {
    const f = await failure(readModelInfo(testTmpDir()));
    expect(f.code).toBe('ERR_MODEL_NOT_FOUND');
    expect(f.message).toMatch(/directory/);
  });

  it('an empty path -> ERR_INVALID_OPTION', async () => {
    expect((await failure(readModelInfo(''))).code).toBe('ERR_INVALID_OPTION');
  });

  it('a zero-byte file -> ERR_MODEL_INVALID', async () => {
    const f = await failure(readModelInfo(tmpFile('empty.onnx', new Uint8Array(0))));
    expect(f.code).toBe('ERR_MODEL_INVALID');
    expect(f.message).toMatch(/empty/);
  });

  it('a text file -> ERR_MODEL_INVALID', async () => {
    const f = await failure(readModelInfo(tmpFile('notes.onnx', 'hello, this is not a model\n'.repeat(20))));
    expect(f.code).toBe('ERR_MODEL_INVALID');
    expect(f.message).toMatch(/not an ONNX model/);
  });

  it('random bytes -> ERR_MODEL_INVALID', async () => {
    // Several seeds: random bytes sometimes parse as protobuf, and must then fail the graph checks.
    for (let i = 0; i < 5; i++) {
      const f = await failure(readModelInfo(tmpFile(`random${i}.onnx`, randomBytes(4096))));
      expect(f.code).toBe('ERR_MODEL_INVALID');
    }
  });

  it('a truncated yolo11n (first 1 MB) -> ERR_MODEL_INVALID', async () => {
    const head = readFileSync(modelPath('yolo11n.onnx')).subarray(0, 1 << 20);
    const f = await failure(readModelInfo(tmpFile('truncated.onnx', head)));
    expect(f.code).toBe('ERR_MODEL_INVALID');
    expect(f.message).toMatch(/truncated or corrupt/);
  });

  it('an .engine file -> ERR_MODEL_UNSUPPORTED pointing at the tensorrt backend', async () => {
    const meta = Buffer.from(JSON.stringify({ imgsz: [640, 640], names: { 0: 'a' } }));
    const header = Buffer.alloc(4);
    header.writeUInt32LE(meta.length);
    const bytes = Buffer.concat([header, meta, randomBytes(256)]);
    for (const name of ['model.engine', 'model-engine.onnx']) {
      const f = await failure(readModelInfo(tmpFile(name, bytes)));
      expect(f.code).toBe('ERR_MODEL_UNSUPPORTED');
      expect(f.message).toMatch(/TensorRT engines need backend 'tensorrt'/);
    }
  });
});

describe('readModelInfo on synthetic models', () => {
  it('reads another imgsz and class count (320x256, nc=3)', async () => {
    const file = writeSyntheticModel({
      width: 320,
      height: 256,
      nc: 3,
      names: ['cat', "it's", 'traffic light'],
    });
    const info = await readModelInfo(file);
    expect(info.imgsz).toEqual([256, 320]);
    expect(info.names).toEqual(['cat', "it's", 'traffic light']);
    expect(info.numClasses).toBe(3);
    expect(info.numAnchors).toBe(anchorsFor(320, 256));
    expect(info.numAnchors).toBe(1680);
    expect(info.batch).toBe(1);
    expect(info.source).toEqual({ names: 'metadata', imgsz: 'metadata', endToEnd: null });
  });

  it('reads a dynamic batch as null', async () => {
    const info = await readModelInfo(
      writeSyntheticModel({ width: 320, height: 320, nc: 2, batch: 'dynamic' }),
    );
    expect(info.batch).toBeNull();
    expect(info.numAnchors).toBe(2100);
  });

  it('reads a fixed batch of 4', async () => {
    const info = await readModelInfo(writeSyntheticModel({ width: 320, height: 320, nc: 2, batch: 4 }));
    expect(info.batch).toBe(4);
  });

  it('reads a float16 input', async () => {
    const info = await readModelInfo(
      writeSyntheticModel({ width: 320, height: 320, nc: 2, inputType: 'float16', outputType: 'float16' }),
    );
    expect(info.inputType).toBe('float16');
  });

  it('without metadata: names are the ids and imgsz comes from the input shape', async () => {
    const info = await readModelInfo(writeSyntheticModel({ width: 320, height: 256, nc: 5, metadata: null }));
    expect(info.names).toEqual(['class0', 'class1', 'class2', 'class3', 'class4']);
    expect(info.imgsz).toEqual([256, 320]);
    expect(info.stride).toBe(32);
    expect(info.task).toBe('detect');
    expect(info.source).toEqual({ names: 'shape', imgsz: 'shape', endToEnd: null });
    expect(info.metadata).toEqual({});
  });

  it('dynamic H/W with imgsz metadata: imgsz from metadata', async () => {
    const info = await readModelInfo(
      writeSyntheticModel({ width: 320, height: 256, nc: 3, dynamicHW: true, batch: 'dynamic' }),
    );
    expect(info.imgsz).toEqual([256, 320]);
    expect(info.batch).toBeNull();
  });

  it('dynamic H/W and a dynamic output without imgsz metadata: refused clearly', async () => {
    const file = writeSyntheticModel({
      width: 320,
      height: 256,
      nc: 3,
      dynamicHW: true,
      metadata: { names: pythonNames(['a', 'b', 'c']) },
      declaredOutputDims: [1, 7, 'anchors'],
    });
    const f = await failure(readModelInfo(file));
    expect(f.code).toBe('ERR_MODEL_UNSUPPORTED');
    expect(f.message).toMatch(/dynamic.*no 'imgsz' metadata/);
  });

  it('task metadata segment/pose/obb/classify -> ERR_TASK_UNSUPPORTED naming it', async () => {
    for (const task of ['segment', 'pose', 'obb', 'classify']) {
      const file = writeSyntheticModel({ width: 320, height: 320, nc: 3, extraMetadata: { task } });
      const f = await failure(readModelInfo(file));
      expect(f.code).toBe('ERR_TASK_UNSUPPORTED');
      expect(f.message).toContain(`'${task}'`);
    }
  });

  it('a segment model without metadata is recognised by its protos output', async () => {
    const file = writeSyntheticModel({ width: 320, height: 320, nc: 3, metadata: null, protos: true });
    const f = await failure(readModelInfo(file));
    expect(f.code).toBe('ERR_TASK_UNSUPPORTED');
    expect(f.message).toMatch(/'segment'/);
  });

  it('a wrong number of anchors -> ERR_MODEL_UNSUPPORTED with received and expected shapes', async () => {
    const file = writeSyntheticModel({ width: 320, height: 320, nc: 3, anchors: 2000 });
    const f = await failure(readModelInfo(file));
    expect(f.code).toBe('ERR_MODEL_UNSUPPORTED');
    expect(f.message).toContain('[1, 7, 2100]');
    expect(f.message).toContain('[1, 7, 2000]');
  });

  it('names that disagree with the output -> ERR_MODEL_UNSUPPORTED explaining the mismatch', async () => {
    const file = writeSyntheticModel({
      width: 320,
      height: 320,
      nc: 3,
      extraMetadata: { names: pythonNames(['a', 'b']) },
    });
    const f = await failure(readModelInfo(file));
    expect(f.code).toBe('ERR_MODEL_UNSUPPORTED');
    expect(f.message).toMatch(/names 2 classes/);
    expect(f.message).toMatch(/\(3 classes\)/);
  });

  it('imgsz metadata that disagrees with a fixed input -> ERR_MODEL_UNSUPPORTED', async () => {
    const file = writeSyntheticModel({
      width: 320,
      height: 320,
      nc: 3,
      extraMetadata: { imgsz: '[640, 640]' },
    });
    const f = await failure(readModelInfo(file));
    expect(f.code).toBe('ERR_MODEL_UNSUPPORTED');
    expect(f.message).toMatch(/imgsz \[640, 640\]/);
  });

  it('a rank-2 output without metadata is refused as classify', async () => {
    const file = writeSyntheticModel({
      width: 320,
      height: 320,
      nc: 3,
      metadata: null,
      declaredOutputDims: [1, 7],
    });
    expect((await failure(readModelInfo(file))).code).toBe('ERR_TASK_UNSUPPORTED');
  });

  it('end2end metadata on a classic [B, 4 + nc, N] output is refused as inconsistent', async () => {
    const file = writeSyntheticModel({ width: 320, height: 320, nc: 3, extraMetadata: { end2end: 'True' } });
    const f = await failure(readModelInfo(file));
    expect(f.code).toBe('ERR_MODEL_UNSUPPORTED');
    expect(f.message).toMatch(/end-to-end .*\[B, K, 6\]/);
  });

  it('bad names metadata -> ERR_MODEL_INVALID', async () => {
    const file = writeSyntheticModel({
      width: 320,
      height: 320,
      nc: 3,
      extraMetadata: { names: "{0: 'a', 1: 'b'" },
    });
    expect((await failure(readModelInfo(file))).code).toBe('ERR_MODEL_INVALID');
  });
});

describe('readModelInfo and the event loop', () => {
  it('never blocks the event loop for long while reading yolo11n', async () => {
    let maxGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
    }, 1);
    try {
      for (let i = 0; i < 3; i++) await readModelInfo(modelPath('yolo11n.onnx'));
    } finally {
      clearInterval(timer);
    }
    // Generous: the CI box is shared. Decoding is a few ms; a full weights decode would be far more.
    expect(maxGap).toBeLessThan(100);
  });
});
