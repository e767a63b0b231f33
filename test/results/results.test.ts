// The Results class: Ultralytics' box layouts, JSON unchanged, its colours and size rule, label files
// in its format, crops, and plotting on a real detection.
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Detector, Results, type Detection } from '../../dist/index.js';
import { classColor } from '../../dist/results/palette.js';
import { defaultLineWidth, overlaySvg } from '../../dist/results/plot.js';
import { formatG } from '../../dist/results/format-g.js';
import { cropRect, labelLines } from '../../dist/results/save.js';
import { imagePath, modelPath } from '../helpers/assets.js';

// Real inference, ffmpeg and python3-opencv on a shared 2-core machine: allow time.
vi.setConfig({ testTimeout: 120000, hookTimeout: 120000 });

const det = (
  box: [number, number, number, number],
  cls: number,
  conf: number,
  name = `c${cls}`,
): Detection => ({
  box,
  cls,
  conf,
  name,
});

function makeResults(detections: Detection[], width = 200, height = 100): Results {
  const data = new Uint8Array(width * height * 3).fill(40);
  return new Results(
    { detections, width, height, speed: { preprocess: 1, inference: 2, postprocess: 3 } },
    {
      path: '/x/img.jpg',
      names: ['c0', 'c1', 'c2'],
      image: { data, width, height, stride: width * 3, format: 'rgb' },
    },
  );
}

describe('Results', () => {
  it('gives Ultralytics box layouts, origShape, names and an unchanged JSON', () => {
    const r = makeResults([det([10, 20, 50, 80], 1, 0.75), det([0, 0, 200, 100], 0, 0.5)]);
    expect(r.boxes.xyxy).toEqual([
      [10, 20, 50, 80],
      [0, 0, 200, 100],
    ]);
    expect(r.boxes.xywh).toEqual([
      [30, 50, 40, 60],
      [100, 50, 200, 100],
    ]);
    expect(r.boxes.xyxyn[0]).toEqual([0.05, 0.2, 0.25, 0.8].map(Math.fround));
    expect(r.boxes.xywhn[0]).toEqual([0.15, 0.5, 0.2, 0.6].map(Math.fround));
    expect(r.boxes.conf).toEqual([0.75, 0.5]);
    expect(r.boxes.cls).toEqual([1, 0]);
    expect(r.boxes.id).toBeNull();
    expect(r.origShape).toEqual([100, 200]);
    expect(r.names).toEqual({ 0: 'c0', 1: 'c1', 2: 'c2' });
    expect(r.path).toBe('/x/img.jpg');
    const plain = { detections: r.detections, width: 200, height: 100, speed: r.speed };
    expect(JSON.stringify(r)).toBe(JSON.stringify(plain));
    expect(Object.keys(r)).toEqual(['detections', 'width', 'height', 'speed']);
  });

  it("uses Ultralytics' palette and line-width rule", () => {
    expect(classColor(0).fill).toBe('#042AFF');
    expect(classColor(20).fill).toBe('#042AFF');
    expect(classColor(5)).toMatchObject({ fill: '#FF6FDD', text: '#111F68' });
    expect(classColor(4)).toMatchObject({ fill: '#111F68', text: '#FFFFFF' });
    // (h + w + 3) / 2 * 0.003, Python's half-even round, at least 2.
    expect(defaultLineWidth(810, 1080)).toBe(3);
    expect(defaultLineWidth(1280, 720)).toBe(3);
    expect(defaultLineWidth(640, 480)).toBe(2);
    expect(defaultLineWidth(3840, 2160)).toBe(9);
  });

  it('draws the most confident label last (on top) and honours hide-labels / hide-conf', () => {
    const svg = overlaySvg(200, 100, [
      det([10, 40, 50, 80], 0, 0.9, 'aa'),
      det([10, 40, 50, 80], 3, 0.5, 'bb'),
    ]);
    expect(svg.indexOf('#111F68"/>')).toBeLessThan(svg.indexOf('#042AFF"/>'));
    expect(svg).toContain('>aa 0.90</text>');
    expect(overlaySvg(200, 100, [det([1, 1, 5, 5], 0, 0.9, 'aa')], { conf: false })).toContain('>aa</text>');
    expect(overlaySvg(200, 100, [det([1, 1, 5, 5], 0, 0.9, 'aa')], { labels: false })).not.toContain('<text');
  });

  it('plots boxes in the class colour on the image', async () => {
    const r = makeResults([det([20, 30, 120, 90], 0, 0.9)]);
    const png = await r.plot({ labels: false, lineWidth: 4 });
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([200, 100]);
    const px = (x: number, y: number) => [
      ...data.subarray((y * 200 + x) * info.channels, (y * 200 + x) * info.channels + 3),
    ];
    expect(px(20, 60)).toEqual([4, 42, 255]); // on the left edge
    expect(px(70, 60)).toEqual([40, 40, 40]); // inside: untouched
    const raw = await r.plot({ format: 'raw' });
    expect(raw.length).toBe(200 * 100 * 3);
  });

  it('writes label lines like save_txt (%g, normalised xywh, optional conf)', () => {
    expect(
      ['0.5', '0.123456789', '1e-05', '0.0001234567', '123456.7', '1234567', '0.999999951'].map((s) =>
        formatG(Number(s)),
      ),
    ).toEqual(['0.5', '0.123457', '1e-05', '0.000123457', '123457', '1.23457e+06', '1']);
    const lines = labelLines([det([10, 20, 50, 80], 1, 0.75)], 200, 100, true);
    expect(lines).toEqual(['1 0.15 0.5 0.2 0.6 0.75']);
    expect(labelLines([det([10, 20, 50, 80], 1, 0.75)], 200, 100, false)).toEqual(['1 0.15 0.5 0.2 0.6']);
  });

  it('crops like save_crop: 1.02x + 10 px, truncated, clipped', () => {
    // centre (30, 50), size 40x60 -> 50.8 x 71.2: [4.6, 14.4, 55.4, 85.6] -> [4, 14, 55, 85]
    expect(cropRect([10, 20, 50, 80], 200, 100)).toEqual({ left: 4, top: 14, width: 51, height: 71 });
    expect(cropRect([0, 0, 200, 100], 200, 100)).toEqual({ left: 0, top: 0, width: 200, height: 100 });
  });

  it('refuses to plot a result that holds no image, with a coded error', async () => {
    const r = new Results(
      { detections: [], width: 4, height: 4, speed: { preprocess: 0, inference: 0, postprocess: 0 } },
      { path: 'tensor', names: [] },
    );
    await expect(r.plot()).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
  });
});

describe('Results from a real detection', () => {
  let detector: Detector;
  let dir: string;
  beforeAll(async () => {
    detector = await Detector.create({ model: modelPath('yolo11n.onnx'), backend: 'cpu' });
    dir = await mkdtemp(path.join(tmpdir(), 'yolo-trt-results-'));
  });
  afterAll(async () => detector?.dispose());

  it('detect() returns Results with path and names; save, saveTxt, saveCrop write files', async () => {
    const bus = imagePath('bus.jpg');
    const r = await detector.detect(bus);
    expect(r).toBeInstanceOf(Results);
    expect(r.path).toBe(bus);
    expect(r.names[0]).toBe('person');
    expect(r.boxes.length).toBe(r.detections.length);
    const saved = await r.save(path.join(dir, 'bus.jpg'));
    const meta = await sharp(saved).metadata();
    expect([meta.width, meta.height]).toEqual([810, 1080]);
    await r.saveTxt(path.join(dir, 'labels', 'bus.txt'), { saveConf: true });
    const lines = (await readFile(path.join(dir, 'labels', 'bus.txt'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(r.detections.length);
    expect(lines[0]!.split(' ')).toHaveLength(6);
    const crops = await r.saveCrop(path.join(dir, 'crops'));
    expect(crops).toHaveLength(r.detections.length);
    const persons = await readdir(path.join(dir, 'crops', 'person'));
    expect(persons.sort()).toEqual(['bus.jpg', 'bus2.jpg', 'bus3.jpg', 'bus4.jpg'].slice(0, persons.length));
  });
});
