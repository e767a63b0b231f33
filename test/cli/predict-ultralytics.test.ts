// `yolo-trt predict` the way Ultralytics users type it: key=value arguments, run folders that
// increment, label files, crops, videos frame by frame, --device and --half.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { rewriteKeyValueArgs } from '../../dist/cli/key-value.js';
import { imagePath, modelPath } from '../helpers/assets.js';

// Real inference, ffmpeg and python3-opencv on a shared 2-core machine: allow time.
vi.setConfig({ testTimeout: 240000, hookTimeout: 240000 });

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(REPO, 'bin/yolo-trt.js');
const MODEL = modelPath('yolo11n.onnx');
const BUS = imagePath('bus.jpg');
const HAS_FFMPEG = spawnSync('ffmpeg', ['-version']).status === 0;

function run(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

describe('key=value arguments', () => {
  it('rewrites known keys, booleans and show_* negations; leaves other arguments alone', () => {
    expect(
      rewriteKeyValueArgs([
        'model=m.onnx',
        'source=bus.jpg',
        'conf=0.5',
        'save=True',
        'save_txt=False',
        'show_labels=False',
        'classes=[0, 2]',
        'max_det=10',
        'odd=name.jpg',
        '--iou',
        '0.6',
      ]),
    ).toEqual([
      '--model',
      'm.onnx',
      'bus.jpg',
      '--conf',
      '0.5',
      '--save',
      '--hide-labels',
      '--classes',
      '0,2',
      '--max-det',
      '10',
      'odd=name.jpg',
      '--iou',
      '0.6',
    ]);
  });
});

describe('yolo-trt predict, Ultralytics-style', () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = await mkdtemp(path.join(tmpdir(), 'yolo-trt-ul-'));
  });

  it('save=True writes runs/detect/predict, then predict2; labels (with conf) and crops', async () => {
    const args = [
      `model=${MODEL}`,
      `source=${BUS}`,
      'save=True',
      'save_txt=True',
      'save_conf=True',
      'save_crop=True',
    ];
    const first = await run(['predict', ...args], cwd);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`Results saved to ${path.join('runs', 'detect', 'predict')}\n`);
    const dir = path.join(cwd, 'runs/detect/predict');
    expect((await readdir(dir)).sort()).toEqual(['bus.jpg', 'crops', 'labels']);
    const lines = (await readFile(path.join(dir, 'labels/bus.txt'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(5); // 4 persons + 1 bus
    expect(lines.every((l) => /^\d+( [\d.e+-]+){5}$/.test(l))).toBe(true);
    expect((await readdir(path.join(dir, 'crops/person'))).sort()).toEqual([
      'bus.jpg',
      'bus2.jpg',
      'bus3.jpg',
      'bus4.jpg',
    ]);
    expect(await readdir(path.join(dir, 'crops/bus'))).toEqual(['bus.jpg']);

    const second = await run(
      ['predict', BUS, '--model', MODEL, '--save', '--hide-conf', '--line-width', '5'],
      cwd,
    );
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`Results saved to ${path.join('runs', 'detect', 'predict2')}\n`);
    const third = await run(
      [
        'predict',
        BUS,
        '-m',
        MODEL,
        '--save-txt',
        '--project',
        'out',
        '--name',
        'exp',
        '--exist-ok',
        '--device',
        'cpu',
      ],
      cwd,
    );
    expect(third.code).toBe(0);
    expect(await readdir(path.join(cwd, 'out/exp/labels'))).toEqual(['bus.txt']);
  });

  it('refuses --half on the CPU and a bad --device (exit 2)', async () => {
    const half = await run(['predict', BUS, '-m', MODEL, '--half', '--device', 'cpu'], cwd);
    expect(half.code).toBe(2);
    expect(half.stderr).toContain('--half');
    const bad = await run(['predict', BUS, '-m', MODEL, '--device', 'gpu'], cwd);
    expect(bad.code).toBe(2);
  });

  it.skipIf(!HAS_FFMPEG)(
    'a video: one JSON line per used frame with "frame", and an annotated .mp4',
    async () => {
      const clip = path.join(cwd, 'clip.mp4');
      spawnSync('ffmpeg', [
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        '-loop',
        '1',
        '-framerate',
        '10',
        '-i',
        BUS,
        '-t',
        '0.6',
        '-vf',
        "crop=320:240:x='50+n*20':y=300",
        '-c:v',
        'libx264',
        '-pix_fmt',
        'yuv420p',
        clip,
      ]);
      const r = await run(['predict', clip, '-m', MODEL, '--vid-stride', '2', '--jsonl', '-', '--save'], cwd);
      expect(r.code).toBe(0);
      const lines = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { image: string; frame: number; timestamp: number });
      expect(lines.map((l) => [l.frame, l.timestamp])).toEqual([
        [0, 0],
        [2, 0.2],
        [4, 0.4],
      ]);
      expect(Object.keys(lines[0]!).slice(0, 3)).toEqual(['image', 'frame', 'timestamp']);
      const saved = r.stderr.match(/Results saved to (.*)\n/)![1]!;
      const probe = spawnSync('ffprobe', [
        '-v',
        'error',
        '-count_frames',
        '-show_entries',
        'stream=nb_read_frames,width,height',
        '-of',
        'json',
        path.join(cwd, saved, 'clip.mp4'),
      ]);
      const stream = (
        JSON.parse(probe.stdout.toString()) as { streams: { nb_read_frames: string; width: number }[] }
      ).streams[0]!;
      expect([stream.nb_read_frames, stream.width]).toEqual(['3', 320]);
    },
  );
});
