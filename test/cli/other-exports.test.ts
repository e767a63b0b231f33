// `yolo-trt predict` on exports other than yolo11n 640: a synthetic detect model with another imgsz
// (320 wide, 256 high), 3 classes, dynamic batch and dynamic H/W (Ultralytics' `dynamic=True`), and one
// with no metadata at all. The head's outputs are constants, so the expected boxes follow from
// ULTRALYTICS.md's NMS + scale_boxes alone.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { testTmpDir, writeSyntheticModel, type SyntheticModelSpec } from '../helpers/synthetic-model.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(REPO, 'bin/yolo-trt.js');

const SPEC: SyntheticModelSpec = {
  width: 320,
  height: 256,
  nc: 3,
  batch: 'dynamic',
  dynamicHW: true,
  names: ['cat', 'dog', 'bird'],
  detections: [
    { anchor: 10, box: [100, 80, 40, 60], scores: [0.9, 0.1, 0.05] },
    { anchor: 11, box: [102, 82, 40, 60], scores: [0.8, 0, 0] }, // overlaps the first cat: suppressed
    { anchor: 1000, box: [250, 200, 80, 50], scores: [0, 0, 0.6] },
  ],
};

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: REPO }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

let image: string;
beforeAll(async () => {
  // 640x512 is exactly 2x the network input: gain 0.5, no padding, so boxes double.
  image = path.join(testTmpDir(), 'gray-640x512.png');
  await writeFile(
    image,
    await sharp({ create: { width: 640, height: 512, channels: 3, background: '#5a5a5a' } })
      .png()
      .toBuffer(),
  );
});

describe('predict on other exports', () => {
  it('imgsz 320x256, 3 classes, dynamic batch and H/W: names and boxes from the metadata', async () => {
    const model = writeSyntheticModel(SPEC, 'dynamic-320x256-nc3.onnx');
    const r = await run(['predict', image, '--model', model, '--jsonl', '-']);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const line = JSON.parse(r.stdout.trim()) as {
      width: number;
      height: number;
      detections: { box: number[]; conf: number; cls: number; name: string }[];
    };
    expect([line.width, line.height]).toEqual([640, 512]);
    expect(line.detections.map((d) => [d.name, d.cls, d.conf, d.box])).toEqual([
      ['cat', 0, Math.fround(0.9), [160, 100, 240, 220]],
      ['bird', 2, Math.fround(0.6), [420, 350, 580, 450]],
    ]);
  });

  it('no metadata at all: imgsz from the input shape, names class0..classN like Ultralytics', async () => {
    const model = writeSyntheticModel({ ...SPEC, batch: 1, dynamicHW: false, metadata: null }, 'bare.onnx');
    const r = await run(['predict', image, '--model', model, '--jsonl', '-', '--classes', '2']);
    expect(r.code).toBe(0);
    const line = JSON.parse(r.stdout.trim()) as { detections: { name: string; box: number[] }[] };
    expect(line.detections).toEqual([
      { box: [420, 350, 580, 450], conf: Math.fround(0.6), cls: 2, name: 'class2' },
    ]);
  });
});
