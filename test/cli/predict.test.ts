// `yolo-trt predict` end to end: the real bin, the real model, the shared images. Each test spawns the
// CLI the way a user runs it and checks what it prints, writes and exits with.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASSETS, goldenDetections, imagePath, modelPath } from '../helpers/assets.js';
import { compareDetections } from '../helpers/golden.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(REPO, 'bin/yolo-trt.js');
const MODEL = modelPath('yolo11n.onnx');
const BUS = imagePath('bus.jpg');
const ZIDANE = imagePath('zidane.jpg');
const golden = goldenDetections();

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: REPO, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

interface JsonLine {
  image: string;
  width: number;
  height: number;
  detections: { box: number[]; conf: number; cls: number; name: string }[];
  speed: { preprocess: number; inference: number; postprocess: number };
}

/** Parses --jsonl output, checking every line is exactly the documented object, keys in order. */
function parseJsonl(text: string): JsonLine[] {
  const lines = text.split('\n').filter((l) => l.length > 0);
  return lines.map((line) => {
    const obj = JSON.parse(line) as JsonLine;
    expect(Object.keys(obj)).toEqual(['image', 'width', 'height', 'detections', 'speed']);
    expect(Object.keys(obj.speed)).toEqual(['preprocess', 'inference', 'postprocess']);
    for (const d of obj.detections) {
      expect(Object.keys(d)).toEqual(['box', 'conf', 'cls', 'name']);
      expect(d.box).toHaveLength(4);
    }
    return obj;
  });
}

function goldenKey(image: string): string {
  return path.basename(image, path.extname(image));
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'yolo-trt-cli-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('yolo-trt predict', () => {
  it('prints an Ultralytics-style summary: bus.jpg has 4 persons and 1 bus', async () => {
    const r = await run(['predict', BUS, '--model', MODEL]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^image 1\/1 \S*bus\.jpg: 640x640 4 persons, 1 bus, \d+\.\dms$/m);
    expect(r.stdout).toMatch(
      /^Speed: \d+\.\dms preprocess, \d+\.\dms inference, \d+\.\dms postprocess per image at shape \(1, 3, 640, 640\)$/m,
    );
  });

  it('--jsonl - writes exactly one documented line per image to stdout, boxes equal to the golden ones', async () => {
    const r = await run(['predict', BUS, ZIDANE, '--model', MODEL, '--jsonl', '-']);
    expect(r.code).toBe(0);
    const lines = parseJsonl(r.stdout); // every stdout line is JSON: nothing else went there
    expect(lines.map((l) => l.image)).toEqual([BUS, ZIDANE]);
    expect(lines.map((l) => [l.width, l.height])).toEqual([
      [810, 1080],
      [1280, 720],
    ]);
    for (const l of lines) {
      expect(compareDetections(l.detections, golden[goldenKey(l.image)]!), l.image).toEqual([]);
      expect(l.speed.inference).toBeGreaterThan(0);
    }
    // Not rounded: a float32 widened to double has more than the 2 decimals the golden file keeps.
    expect(lines[0]!.detections.some((d) => d.box.some((v) => !Number.isInteger(v * 100)))).toBe(true);
  });

  it('walks a directory recursively in sorted order, and each image matches the golden detections', async () => {
    const dir = path.join(ASSETS, 'datasets/coco8');
    const r = await run(['predict', dir, '--model', MODEL, '--jsonl', '-']);
    expect(r.code).toBe(0);
    const lines = parseJsonl(r.stdout);
    const expected = ['000000000009', '000000000025', '000000000030', '000000000034'].map((k) =>
      path.join(dir, 'images/train', `${k}.jpg`),
    );
    expected.push(
      ...['000000000036', '000000000042', '000000000049', '000000000061'].map((k) =>
        path.join(dir, 'images/val', `${k}.jpg`),
      ),
    );
    expect(lines.map((l) => l.image)).toEqual(expected);
    for (const l of lines)
      expect(compareDetections(l.detections, golden[goldenKey(l.image)]!), l.image).toEqual([]);
  });

  it('reports a corrupt image and a missing path, still answers for the good image, and exits 1', async () => {
    const dir = path.join(tmp, 'mixed');
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir);
    const good = path.join(dir, 'a-good.jpg');
    const bad = path.join(dir, 'b-corrupt.jpg');
    await copyFile(BUS, good);
    const bytes = await readFile(BUS);
    await writeFile(bad, Buffer.concat([bytes.subarray(0, 2), Buffer.alloc(4096, 0x5a)])); // JPEG magic, then junk
    const missing = path.join(tmp, 'does-not-exist.jpg');
    const r = await run(['predict', dir, missing, '--model', MODEL, '--jsonl', '-']);
    expect(r.code).toBe(1);
    const lines = parseJsonl(r.stdout);
    expect(lines.map((l) => l.image)).toEqual([good]);
    expect(compareDetections(lines[0]!.detections, golden['bus']!)).toEqual([]);
    expect(r.stderr).toMatch(
      new RegExp(`^error \\[ERR_BAD_IMAGE\\] ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .+$`, 'm'),
    );
    expect(r.stderr).toMatch(/^error \[ERR_IMAGE_NOT_FOUND\] \S*does-not-exist\.jpg: /m);
  });

  it('--save writes decodable annotated copies of the oriented image; --jsonl FILE keeps stdout for people', async () => {
    // An EXIF-rotated copy of bus.jpg: boxes are computed on the upright 1080x810 image, so the saved
    // copy must be upright too (and carry no orientation tag that would rotate it again).
    const src = path.join(tmp, 'src');
    await mkdir(src, { recursive: true });
    const rotated = path.join(src, 'rotated.jpg');
    await sharp(BUS).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toFile(rotated);
    const out = path.join(tmp, 'out', 'nested');
    const jsonl = path.join(tmp, 'results.jsonl');
    const r = await run(['predict', BUS, rotated, '--model', MODEL, '--save', out, '--jsonl', jsonl]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Speed: /m);
    expect(r.stdout).toContain(`Results saved to ${out}`);
    const lines = parseJsonl(await readFile(jsonl, 'utf8'));
    expect(lines.map((l) => [l.width, l.height])).toEqual([
      [810, 1080],
      [1080, 810],
    ]);

    const saved = await sharp(path.join(out, 'bus.jpg')).metadata();
    expect([saved.format, saved.width, saved.height]).toEqual(['jpeg', 810, 1080]);
    const savedRotated = await sharp(path.join(out, 'rotated.jpg')).metadata();
    expect([savedRotated.width, savedRotated.height, savedRotated.orientation ?? 1]).toEqual([1080, 810, 1]);

    // Something was drawn: along the bus box's left edge the copy differs clearly from the original.
    const [x1, y1, , y2] = golden['bus']![1]!.box;
    const column = async (file: string) =>
      sharp(file)
        .extract({ left: Math.round(x1), top: Math.round(y1), width: 1, height: Math.round(y2 - y1) })
        .raw()
        .toBuffer();
    const before = await column(BUS);
    const after = await column(path.join(out, 'bus.jpg'));
    let diff = 0;
    for (let i = 0; i < before.length; i++) diff += Math.abs(before[i]! - after[i]!);
    expect(diff / before.length).toBeGreaterThan(30);
  });
});

describe('yolo-trt usage errors exit 2 with a clear message', () => {
  it('--conf 1.5 names --conf', async () => {
    const r = await run(['predict', BUS, '--model', MODEL, '--conf', '1.5']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error \[ERR_INVALID_OPTION\]: --conf: .*1\.5/m);
  });

  it('an unknown backend names --backend; a missing --model says so', async () => {
    const backend = await run(['predict', BUS, '--model', MODEL, '--backend', 'gpu']);
    expect(backend.code).toBe(2);
    expect(backend.stderr).toMatch(/--backend: .*'gpu'/);
    const noModel = await run(['predict', BUS]);
    expect(noModel.code).toBe(2);
    expect(noModel.stderr).toMatch(/required option '-m, --model <path>' not specified/);
  });

  it('a value that is not a number, and an unknown command, exit 2 (the latter with help)', async () => {
    const nan = await run(['predict', BUS, '--model', MODEL, '--iou', 'high']);
    expect(nan.code).toBe(2);
    expect(nan.stderr).toMatch(/--iou <number>.*'high'/);
    const unknown = await run(['detect', BUS]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'detect'/);
    expect(unknown.stderr).toMatch(/Usage: yolo-trt/);
  });

  it('output paths that cannot be written: one coded line, exit 2, no stack', async () => {
    // No image extension: `--save bus.jpg` reads as "save" followed by a source.
    const file = path.join(tmp, 'already-a-file');
    await writeFile(file, 'x');
    const save = await run(['predict', BUS, '--model', MODEL, '--save', file]);
    expect(save.code).toBe(2);
    expect(save.stderr).toMatch(
      /^error \[ERR_OUTPUT_PATH\]: --save \S+already-a-file: it is a file, and --save takes a folder/m,
    );
    expect(save.stderr).not.toMatch(/\n\s+at /);
    const missing = path.join(tmp, 'no-such-folder', 'out.jsonl');
    const jsonl = await run(['predict', BUS, '--model', MODEL, '--jsonl', missing]);
    expect(jsonl.code).toBe(2);
    expect(jsonl.stderr).toMatch(
      /^error \[ERR_OUTPUT_PATH\]: --jsonl \S+out\.jsonl: the folder \S+no-such-folder does not exist/m,
    );
    expect(jsonl.stderr).not.toMatch(/\n\s+at /);
  });

  it('names a model file given as a source and says what to do', async () => {
    const r = await run(['predict', MODEL, BUS, '--model', MODEL, '--jsonl', '-']);
    expect(r.code).toBe(1);
    expect(parseJsonl(r.stdout).map((l) => l.image)).toEqual([BUS]);
    expect(r.stderr).toMatch(
      /^error \[ERR_UNSUPPORTED_SOURCE\] \S+yolo11n\.onnx: this is a model file, not an image/m,
    );
    expect(r.stderr).toMatch(/JPEG, PNG, WebP, BMP, GIF, TIFF, AVIF/);
  });

  it('a .pt model says how to export it to ONNX', async () => {
    const pt = path.join(tmp, 'yolo11n.pt');
    await writeFile(pt, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(100)]));
    const r = await run(['predict', BUS, '--model', pt]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error \[ERR_MODEL_INVALID\]: .*PyTorch checkpoint.*`yolo export model=yolo11n\.pt format=onnx`/m,
    );
  });

  it('a missing model is a failure (exit 1) with its code, not a stack trace', async () => {
    const r = await run(['predict', BUS, '--model', path.join(tmp, 'nope.onnx')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error \[ERR_MODEL_NOT_FOUND\]: /m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
