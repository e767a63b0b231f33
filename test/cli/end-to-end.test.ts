// `yolo-trt predict` on end-to-end models: golden parity for yolo11n-e2e through --jsonl, and --imgsz on a
// dynamic-H/W end-to-end export (synthetic: its rows are constants, so the boxes follow from scale_boxes).
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareDetections, goldenCases, GOLDEN_E2E, YOLO11N, YOLO11N_E2E } from '../helpers/golden.js';
import { testTmpDir, writeSyntheticModel } from '../helpers/synthetic-model.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(REPO, 'bin/yolo-trt.js');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: REPO }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

interface Line {
  image: string;
  width: number;
  height: number;
  detections: { box: number[]; conf: number; cls: number; name: string }[];
}

const lines = (stdout: string): Line[] =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);

describe('predict --jsonl on yolo11n-e2e', () => {
  it('gives the golden end-to-end detections on the 10 images', async () => {
    const cases = goldenCases(GOLDEN_E2E);
    const r = await run([
      'predict',
      ...cases.map((c) => c.imagePath),
      '--model',
      YOLO11N_E2E,
      '--backend',
      'cpu',
      '--jsonl',
      '-',
    ]);
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out.length).toBe(cases.length);
    for (const c of cases) {
      const line = out.find((l) => l.image === c.imagePath);
      expect(line, c.key).toBeDefined();
      expect(compareDetections(line!.detections, c.detections), c.key).toEqual([]);
    }
  });

  it('--iou / --agnostic on an end-to-end model: a note that they have no effect, same results', async () => {
    const bus = goldenCases(GOLDEN_E2E).find((c) => c.key === 'bus')!;
    const r = await run([
      'predict',
      bus.imagePath,
      '--model',
      YOLO11N_E2E,
      '--backend',
      'cpu',
      '--iou',
      '0.1',
      '--agnostic',
      '--jsonl',
      '-',
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/end-to-end model \(no NMS\): --iou and --agnostic have no effect/);
    expect(compareDetections(lines(r.stdout)[0]!.detections, bus.detections)).toEqual([]);
  });
});

describe('predict --imgsz', () => {
  let image: string;
  let model: string;
  beforeAll(async () => {
    // 1280x960 into 480x640 (height, width): gain 0.5, no padding, so boxes double.
    image = path.join(testTmpDir(), 'gray-1280x960.png');
    await writeFile(
      image,
      await sharp({ create: { width: 1280, height: 960, channels: 3, background: '#5a5a5a' } })
        .png()
        .toBuffer(),
    );
    model = writeSyntheticModel(
      {
        width: 320,
        height: 320,
        nc: 3,
        batch: 'dynamic',
        dynamicHW: true,
        names: ['cat', 'dog', 'bird'],
        endToEnd: {
          rows: [
            [100, 80, 140, 200, 0.9, 2],
            [10, 10, 20, 20, 0.2, 0],
          ],
        },
        extraMetadata: { end2end: 'True' },
      },
      'e2e-dynamic-hw.onnx',
    );
  });

  it('480,640 is height,width: the image is letterboxed to 640 wide, 480 high', async () => {
    const r = await run(['predict', image, '--model', model, '--imgsz', '480,640', '--jsonl', '-']);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)[0]!.detections).toEqual([
      { box: [200, 160, 280, 400], conf: Math.fround(0.9), cls: 2, name: 'bird' },
    ]);
  });

  it('without --imgsz the metadata size (320) is used: gain 0.25, pad_y 40', async () => {
    const r = await run(['predict', image, '--model', model, '--jsonl', '-']);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)[0]!.detections[0]!.box).toEqual([400, 160, 560, 640]);
  });

  it('a static model refuses another size with exit code 2, naming the flag', async () => {
    const r = await run(['predict', image, '--model', YOLO11N, '--imgsz', '320', '--backend', 'cpu']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--imgsz: .*fixed input size 640x640/);
  });

  it('build --imgsz: a static model refuses another size before anything else (exit 2)', async () => {
    const r = await run(['build', '--model', YOLO11N, '--imgsz', '320']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ERR_INVALID_OPTION.*fixed input size 640x640/);
  });

  it('a malformed --imgsz is a usage error', async () => {
    for (const bad of ['abc', '480,', '1,2,3', '0']) {
      const r = await run(['predict', image, '--model', model, '--imgsz', bad]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toMatch(/imgsz/);
    }
  });
});
