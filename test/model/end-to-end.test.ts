// readModelInfo on end-to-end exports: recognised by metadata (end2end, args nms) or by shape, other
// tasks' end-to-end outputs refused naming the task, and the imgsz option for dynamic-H/W models.
import { describe, expect, it } from 'vitest';
import { readModelInfo } from '../../dist/model/load-model.js';
import { parseExportArgs, exportFlag } from '../../dist/model/export-args.js';
import { isYoloTrtError } from '../../dist/errors.js';
import { modelPath } from '../helpers/assets.js';
import { pythonNames, writeSyntheticModel } from '../helpers/synthetic-model.js';

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    if (!isYoloTrtError(err)) throw err;
    return { code: err.code, message: err.message };
  }
  throw new Error('expected readModelInfo to fail');
}

const ROWS = [[10, 20, 30, 40, 0.9, 1]];
/** Ultralytics' str(dict) of export args, with `nms` as given. */
const args = (nms: boolean) =>
  `{'task': 'detect', 'mode': 'export', 'imgsz': 320, 'batch': 1, 'half': False, 'dynamic': False, 'simplify': True, 'opset': None, 'data': 'coco8.yaml', 'classes': [0, 1], 'nms': ${nms ? 'True' : 'False'}}`;

describe('end-to-end recognition', () => {
  it('yolo11n-e2e.onnx: end2end metadata, [batch, 300, 6], batch-dynamic', async () => {
    const info = await readModelInfo(modelPath('yolo11n-e2e.onnx'));
    expect(info.endToEnd).toBe(true);
    expect(info.outputRows).toBe(300);
    expect(info.batch).toBeNull();
    expect(info.numClasses).toBe(80);
    expect(info.names[0]).toBe('person');
    expect(info.ignoredOptions).toEqual(['iou', 'agnostic']);
    expect(info.source.endToEnd).toBe('metadata end2end');
    expect(info.imgsz).toEqual([640, 640]);
  });

  it('the classic yolo11n.onnx stays classic', async () => {
    const info = await readModelInfo(modelPath('yolo11n.onnx'));
    expect(info.endToEnd).toBe(false);
    expect(info.outputRows).toBeNull();
    expect(info.ignoredOptions).toEqual([]);
    expect(info.source.endToEnd).toBeNull();
  });

  it("args metadata with 'nms': True (YOLO11/YOLOv8 exported with nms=True)", async () => {
    const file = writeSyntheticModel({
      width: 320,
      height: 320,
      nc: 3,
      endToEnd: { rows: ROWS, k: 100 },
      extraMetadata: { args: args(true) },
    });
    const info = await readModelInfo(file);
    expect(info.endToEnd).toBe(true);
    expect(info.outputRows).toBe(100);
    expect(info.source.endToEnd).toBe('metadata args nms');
  });

  it("args with 'nms': False and a [B, K, 6] output: recognised by shape", async () => {
    const file = writeSyntheticModel({
      width: 320,
      height: 320,
      nc: 3,
      endToEnd: { rows: ROWS },
      extraMetadata: { args: args(false) },
    });
    const info = await readModelInfo(file);
    expect(info.endToEnd).toBe(true);
    expect(info.source.endToEnd).toBe('shape');
  });

  it('no metadata at all: [1, 300, 6] is end-to-end, with Ultralytics default names class0..class998', async () => {
    const file = writeSyntheticModel({
      width: 320,
      height: 320,
      nc: 3,
      endToEnd: { rows: ROWS },
      metadata: null,
    });
    const info = await readModelInfo(file);
    expect(info.endToEnd).toBe(true);
    expect(info.numClasses).toBe(999);
    expect(info.names[998]).toBe('class998');
    expect(info.source.names).toBe('default');
    expect(info.imgsz).toEqual([320, 320]);
  });

  it('a classic output with 2 classes ([1, 6, N]) is not mistaken for end-to-end', async () => {
    const file = writeSyntheticModel({ width: 320, height: 320, nc: 2, metadata: null });
    const info = await readModelInfo(file);
    expect(info.endToEnd).toBe(false);
    expect(info.numClasses).toBe(2);
  });

  it('a dynamic row count [B, K, 6] is accepted (K read at run time)', async () => {
    const file = writeSyntheticModel({
      width: 320,
      height: 320,
      nc: 3,
      endToEnd: { rows: ROWS },
      declaredOutputDims: ['batch', 'num_dets', 6],
    });
    const info = await readModelInfo(file);
    expect(info.endToEnd).toBe(true);
    expect(info.outputRows).toBeNull();
  });

  it('end2end metadata with a [B, K, 8] output is refused, saying what was expected', async () => {
    const file = writeSyntheticModel({
      width: 320,
      height: 320,
      nc: 3,
      endToEnd: { rows: [], rowLength: 8 },
      extraMetadata: { end2end: 'True' },
    });
    const f = await failure(readModelInfo(file));
    expect(f.code).toBe('ERR_MODEL_UNSUPPORTED');
    expect(f.message).toMatch(/\[B, K, 6\]/);
  });
});

describe('end-to-end outputs of other tasks are refused naming the task', () => {
  const cases = [
    { task: 'pose', rowLength: 57, protos: false },
    { task: 'obb', rowLength: 7, protos: false },
    { task: 'segment', rowLength: 38, protos: true },
  ];
  for (const c of cases) {
    it(`${c.task} [B, 300, ${c.rowLength}] without metadata`, async () => {
      const file = writeSyntheticModel({
        width: 320,
        height: 320,
        nc: 1,
        endToEnd: { rows: [], rowLength: c.rowLength },
        protos: c.protos,
        metadata: null,
      });
      const f = await failure(readModelInfo(file));
      expect(f.code).toBe('ERR_TASK_UNSUPPORTED');
      expect(f.message).toContain(`'${c.task}' end-to-end model`);
    });

    it(`${c.task} end-to-end with task and end2end metadata`, async () => {
      const file = writeSyntheticModel({
        width: 320,
        height: 320,
        nc: 1,
        endToEnd: { rows: [], rowLength: c.rowLength },
        protos: c.protos,
        extraMetadata: { task: c.task, end2end: 'True' },
      });
      const f = await failure(readModelInfo(file));
      expect(f.code).toBe('ERR_TASK_UNSUPPORTED');
      expect(f.message).toContain(`'${c.task}' end-to-end model`);
    });
  }

  it('obb end-to-end with only end2end metadata (no task)', async () => {
    const file = writeSyntheticModel({
      width: 320,
      height: 320,
      nc: 1,
      endToEnd: { rows: [], rowLength: 7 },
      metadata: { end2end: 'True', imgsz: '[320, 320]', names: pythonNames(['plane']) },
    });
    const f = await failure(readModelInfo(file));
    expect(f.code).toBe('ERR_TASK_UNSUPPORTED');
    expect(f.message).toContain("'obb'");
  });
});

describe('imgsz option', () => {
  const dynamic = () =>
    writeSyntheticModel({ width: 320, height: 320, nc: 3, endToEnd: { rows: ROWS }, dynamicHW: true });

  it('a dynamic-H/W model defaults to its imgsz metadata', async () => {
    const info = await readModelInfo(dynamic());
    expect(info.imgsz).toEqual([320, 320]);
    expect(info.dynamicHW).toBe(true);
    expect(info.source.imgsz).toBe('metadata');
  });

  it('a dynamic-H/W model takes another [h, w], and its anchor count follows', async () => {
    const info = await readModelInfo(dynamic(), { imgsz: [480, 640] });
    expect(info.imgsz).toEqual([480, 640]);
    expect(info.numAnchors).toBe(60 * 80 + 30 * 40 + 15 * 20);
    expect(info.source.imgsz).toBe('option');
  });

  it('dynamic H/W without imgsz metadata: the option gives the size', async () => {
    const file = writeSyntheticModel({
      width: 320,
      height: 320,
      nc: 3,
      endToEnd: { rows: ROWS },
      dynamicHW: true,
      metadata: { names: pythonNames(['a', 'b', 'c']) },
    });
    expect((await readModelInfo(file, { imgsz: [256, 416] })).imgsz).toEqual([256, 416]);
  });

  it('a size that is not a multiple of the stride is refused, naming the Ultralytics-rounded size', async () => {
    const f = await failure(readModelInfo(dynamic(), { imgsz: [500, 500] }));
    expect(f.code).toBe('ERR_INVALID_OPTION');
    expect(f.message).toContain('[512, 512]');
  });

  it('a static model refuses another size and accepts its own', async () => {
    const f = await failure(readModelInfo(modelPath('yolo11n.onnx'), { imgsz: [320, 320] }));
    expect(f.code).toBe('ERR_INVALID_OPTION');
    expect(f.message).toMatch(/fixed input size 640x640.*dynamic=True/);
    expect((await readModelInfo(modelPath('yolo11n.onnx'), { imgsz: [640, 640] })).imgsz).toEqual([640, 640]);
  });
});

describe('parseExportArgs', () => {
  it('reads scalar flags of a Python dict literal and skips nested values', () => {
    const a = parseExportArgs(args(true));
    expect(exportFlag(a, 'nms')).toBe(true);
    expect(exportFlag(a, 'dynamic')).toBe(false);
    expect(a?.get('opset')).toBeNull();
    expect(a?.get('data')).toBe('coco8.yaml');
    expect(a?.has('classes')).toBe(false);
  });

  it('reads JSON too', () => {
    expect(exportFlag(parseExportArgs('{"nms": true, "imgsz": [640, 640]}'), 'nms')).toBe(true);
  });

  it('returns null for text that is not a dict literal', () => {
    expect(parseExportArgs('nms=True')).toBeNull();
    expect(parseExportArgs("{'nms': True")).toBeNull();
    expect(parseExportArgs("{'a': [1, 2}")).toBeNull();
    expect(exportFlag(null, 'nms')).toBeNull();
  });
});
