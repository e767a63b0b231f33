// The CLI's pure helpers: summary text, the --jsonl line, directory walking, annotation overlay, BMP.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCounts, formatImageLine } from '../../dist/cli/format-summary.js';
import { formatJsonLine } from '../../dist/cli/format-jsonl.js';
import { walkImages } from '../../dist/cli/walk-images.js';
import { overlaySvg, toPackedRgb } from '../../dist/cli/annotate.js';
import type { Detection } from '../../dist/index.js';

const det = (cls: number, name: string, conf = 0.5): Detection => ({ box: [1, 2, 30, 40], conf, cls, name });

describe('summary formatting', () => {
  it('counts per class in class-id order, Ultralytics plurals', () => {
    const dets = [det(5, 'bus'), det(0, 'person'), det(0, 'person'), det(0, 'person'), det(0, 'person')];
    expect(formatCounts(dets)).toBe('4 persons, 1 bus');
    expect(formatCounts([det(27, 'tie'), det(27, 'tie')])).toBe('2 ties');
  });

  it('image line: index, path, network input size, counts, inference time', () => {
    const speed = { preprocess: 1.23, inference: 55.24, postprocess: 0.4 };
    expect(formatImageLine(1, 2, 'a/bus.jpg', [640, 640], [det(5, 'bus')], speed)).toBe(
      'image 1/2 a/bus.jpg: 640x640 1 bus, 55.2ms',
    );
    expect(formatImageLine(2, 2, 'b.png', [320, 320], [], speed)).toBe(
      'image 2/2 b.png: 320x320 (no detections), 55.2ms',
    );
  });
});

describe('--jsonl line', () => {
  it('has the documented keys in order and numbers unrounded', () => {
    const x = Math.fround(46.82); // what a Float32Array row gives back
    const line = formatJsonLine('dir/bus.jpg', {
      width: 810,
      height: 1080,
      detections: [{ name: 'person', cls: 0, conf: Math.fround(0.9033), box: [x, 398.125, 243.5, 903] }],
      speed: { postprocess: 0.5, inference: 50, preprocess: 1 },
    });
    expect(line).toBe(
      `{"image":"dir/bus.jpg","width":810,"height":1080,"detections":[{"box":[${x},398.125,243.5,903],` +
        `"conf":${Math.fround(0.9033)},"cls":0,"name":"person"}],"speed":{"preprocess":1,"inference":50,"postprocess":0.5}}`,
    );
    expect(JSON.parse(line).detections[0].box[0]).toBe(x);
  });
});

describe('walkImages', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'yolo-trt-walk-'));
    await mkdir(path.join(root, 'b/nested'), { recursive: true });
    await mkdir(path.join(root, 'a'), { recursive: true });
    for (const f of ['b/z.JPG', 'b/nested/y.png', 'a/x.webp', 'a/notes.txt', 'c.tiff', 'b/nested/w.avif']) {
      await writeFile(path.join(root, f), 'x');
    }
    await symlink(root, path.join(root, 'b/loop')); // a cycle must not hang the walk
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('expands directories recursively to image files, sorted, keeping the given path form', async () => {
    const { images, problems } = await walkImages([root]);
    expect(problems).toEqual([]);
    expect(images.map((p) => path.relative(root, p))).toEqual([
      'a/x.webp',
      'b/nested/w.avif',
      'b/nested/y.png',
      'b/z.JPG',
      'c.tiff',
    ]);
    expect(images.every((p) => p.startsWith(root))).toBe(true);
  });

  it('keeps explicit files whatever their extension, de-duplicates, and reports missing paths', async () => {
    const notes = path.join(root, 'a/notes.txt');
    const missing = path.join(root, 'nope.jpg');
    const { images, problems } = await walkImages([
      notes,
      path.join(root, 'a'),
      missing,
      path.join(root, 'a/x.webp'),
    ]);
    expect(images).toEqual([notes, path.join(root, 'a/x.webp')]);
    expect(problems).toEqual([
      { path: missing, code: 'ERR_IMAGE_NOT_FOUND', message: 'no such file or directory' },
    ]);
  });
});

describe('annotation', () => {
  it('draws one rectangle per detection and XML-escapes labels', () => {
    const svg = overlaySvg(100, 80, [det(0, 'person', 0.904), det(1, 'a<b>&"c"', 0.5)], true);
    expect(svg.match(/<rect [^>]*fill="none"/g)).toHaveLength(2);
    expect(svg).toContain('>person 0.90</text>');
    expect(svg).toContain('a&#60;b&#62;&#38;&#34;c&#34; 0.50');
    expect(overlaySvg(100, 80, [det(0, 'person')], false)).not.toContain('<text');
  });

  it('draws the best detection last, so its label is on top where labels overlap', () => {
    // Score-descending, as detect() returns them: 0.75 must be painted after 0.42.
    const svg = overlaySvg(200, 200, [det(0, 'person', 0.75), det(0, 'person', 0.42)], true);
    const texts = [...svg.matchAll(/>(person [0-9.]+)<\/text>/g)].map((m) => m[1]);
    expect(texts).toEqual(['person 0.42', 'person 0.75']);
  });

  it('packs gray, BGR and strided pixels into tight RGB', () => {
    const bgr = {
      data: new Uint8Array([1, 2, 3, 9, 4, 5, 6, 9]),
      width: 1,
      height: 2,
      stride: 4,
      format: 'bgr' as const,
    };
    expect([...toPackedRgb(bgr)]).toEqual([3, 2, 1, 6, 5, 4]);
    const gray = { data: new Uint8Array([7, 8]), width: 2, height: 1, stride: 2, format: 'gray' as const };
    expect([...toPackedRgb(gray)]).toEqual([7, 7, 7, 8, 8, 8]);
  });
});
