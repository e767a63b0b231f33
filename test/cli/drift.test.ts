// `yolo-trt profile` and `yolo-trt drift` end to end: the real bin, the real model, the shared val2017
// images. A profile of 25 images; the same images compared again (no alert, exit 0) and darkened copies
// of them (alert, exit 3); a profile refused for another model.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASSETS, modelPath } from '../helpers/assets.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(REPO, 'bin/yolo-trt.js');
const MODEL = modelPath('yolo11n.onnx');
const DATASET = path.join(ASSETS, 'datasets/val2017-50');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: REPO, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('yolo-trt profile / drift', () => {
  let dir: string;
  let images: string[];
  let dark: string;
  let profile: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'yolo-trt-drift-'));
    images = (await readdir(DATASET))
      .filter((f) => f.endsWith('.jpg'))
      .sort()
      .slice(0, 25)
      .map((f) => path.join(DATASET, f));
    dark = path.join(dir, 'dark');
    await mkdir(dark);
    for (const img of images) {
      await sharp(img)
        .linear(0.35, 0)
        .jpeg()
        .toFile(path.join(dark, path.basename(img)));
    }
    profile = path.join(dir, 'profile.json');
  }, 60_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('profiles reference images into a JSON profile tied to the model', async () => {
    const r = await run(['profile', '--model', MODEL, '--images', ...images, '-o', profile]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/25 images, \d+ features/);
    const json = JSON.parse(await readFile(profile, 'utf8')) as Record<string, unknown>;
    expect(json.format).toBe('yolo-trt-drift-profile');
    expect(Object.keys(json.features as object)).toEqual(
      expect.arrayContaining(['lumaMean', 'sharpness', 'aspect']),
    );
  }, 120_000);

  it('finds no drift in the reference images themselves', async () => {
    const r = await run(['drift', '--profile', profile, '--model', MODEL, ...images]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^feature\s+score\s+p\s+adjusted p\s+images\s+status/);
    expect(r.stdout).toMatch(/25 images: no drift alert/);
  }, 120_000);

  it('alerts on darkened copies, naming the brightness features', async () => {
    const r = await run(['drift', '--profile', profile, '--model', MODEL, '--json', dark]);
    expect(r.code, r.stderr).toBe(3);
    const report = JSON.parse(r.stdout) as {
      alert: boolean;
      alerts: string[];
      features: Record<string, { status: string }>;
    };
    expect(report.alert).toBe(true);
    expect(report.alerts).toContain('lumaMean');
    expect(report.features.sharpness).toBeDefined();
  }, 120_000);

  it('refuses a profile made with another model', async () => {
    const r = await run([
      'drift',
      '--profile',
      profile,
      '--model',
      modelPath('yolo11n-dynint8.onnx'),
      ...images.slice(0, 2),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ERR_PROFILE_MODEL_MISMATCH/);
  }, 120_000);

  it('refuses a broken profile file with a coded error', async () => {
    const r = await run(['drift', '--profile', path.join(dir, 'missing.json'), '--model', MODEL, images[0]!]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ERR_PROFILE_INVALID/);
  });
});
