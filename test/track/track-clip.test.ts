// Tracking a real scene: a clip panning across bus.jpg (crops moving 8 px per frame), so every person's
// true box in every frame is its golden box shifted by the crop offset. Ids must not switch.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Detector } from '../../dist/index.js';
import { goldenDetections, imagePath, modelPath } from '../helpers/assets.js';

// Real inference, ffmpeg and python3-opencv on a shared 2-core machine: allow time.
vi.setConfig({ testTimeout: 240000, hookTimeout: 240000 });

const run = promisify(execFile);
const HAS_FFMPEG = spawnSync('ffmpeg', ['-version']).status === 0;
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const STEP = 8;
const TOP = 300;
const FRAMES = 10;

function iou(a: readonly number[], b: readonly number[]): number {
  const iw = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const ih = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const i = iw * ih;
  return i / ((a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - i);
}

/** Persons of bus.jpg as seen in frame n (only those at least 90% inside the 640x640 crop). */
function truth(n: number): { gt: number; box: number[] }[] {
  const x0 = n * STEP;
  const bus = goldenDetections()['bus']!;
  return bus
    .map((d, gt) => ({ gt, d }))
    .filter(({ d }) => d.cls === 0)
    .flatMap(({ gt, d }) => {
      const box = [d.box[0] - x0, d.box[1] - TOP, d.box[2] - x0, d.box[3] - TOP];
      const clipped = [
        Math.max(0, box[0]!),
        Math.max(0, box[1]!),
        Math.min(640, box[2]!),
        Math.min(640, box[3]!),
      ];
      const area = (b: number[]) => Math.max(0, b[2]! - b[0]!) * Math.max(0, b[3]! - b[1]!);
      return area(clipped) >= 0.9 * area(box) ? [{ gt, box }] : [];
    });
}

describe.skipIf(!HAS_FFMPEG)('tracking a clip of moving crops of a real image', () => {
  let clip: string;
  let detector: Detector;
  beforeAll(async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'yolo-trt-track-'));
    clip = path.join(dir, 'pan.mp4');
    await run('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-loop',
      '1',
      '-framerate',
      '10',
      '-i',
      imagePath('bus.jpg'),
      '-frames:v',
      String(FRAMES),
      '-vf',
      `crop=640:640:x='n*${STEP}':y=${TOP}`,
      '-c:v',
      'libx264',
      '-qp',
      '0',
      '-pix_fmt',
      'yuv444p',
      clip,
    ]);
    detector = await Detector.create({ model: modelPath('yolo11n.onnx'), backend: 'cpu' });
  });
  afterAll(async () => detector?.dispose());

  it('keeps one id per person through the pan (0 ID switches), distinct ids for distinct people', async () => {
    const idsOf = new Map<number, Set<number>>();
    let evaluated = 0;
    let matched = 0;
    let frames = 0;
    for await (const r of detector.track(clip)) {
      frames++;
      expect(r.boxes.id === null || r.boxes.id.length === r.detections.length).toBe(true);
      for (const { gt, box } of truth(r.frame!)) {
        evaluated++;
        const hit = r.detections.filter((d) => d.cls === 0).find((d) => iou(d.box, box) > 0.5);
        if (hit === undefined) continue;
        matched++;
        const set = idsOf.get(gt) ?? new Set<number>();
        set.add(hit.id!);
        idsOf.set(gt, set);
      }
    }
    expect(frames).toBe(FRAMES);
    expect(matched / evaluated).toBeGreaterThan(0.8);
    expect([...idsOf.values()].map((s) => s.size)).toEqual([...idsOf.keys()].map(() => 1)); // no switches
    const all = [...idsOf.values()].map((s) => [...s][0]);
    expect(new Set(all).size).toBe(all.length);
    expect(idsOf.size).toBeGreaterThanOrEqual(2);
  });

  it('yolo-trt track writes JSON lines with "frame" and per-detection "id"', async () => {
    const { stdout } = await run(process.execPath, [
      path.join(REPO, 'bin/yolo-trt.js'),
      'track',
      clip,
      '-m',
      modelPath('yolo11n.onnx'),
      '--backend',
      'cpu',
      '--vid-stride',
      '3',
      '--jsonl',
      '-',
    ]);
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { frame: number; detections: { id: number }[] });
    expect(lines.map((l) => l.frame)).toEqual([0, 3, 6, 9]);
    expect(lines[1]!.detections.length).toBeGreaterThan(0);
    expect(lines[1]!.detections.every((d) => Number.isInteger(d.id))).toBe(true);
  });
});
