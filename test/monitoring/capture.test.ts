/** Capture for retraining: policies, the Ultralytics dataset layout, bounds, drops under pressure. */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CaptureSink, imageExtension, yoloLabels, type DetectResult } from '../../dist/index.js';

const JPEG = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, ...new Array(96).fill(7)]);
const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function result(dets: [number, number][] = [[0, 0.9]]): DetectResult {
  return {
    width: 200,
    height: 100,
    speed: { preprocess: 0, inference: 0, postprocess: 0 },
    detections: dets.map(([cls, conf]) => ({ box: [50, 25, 150, 75], conf, cls, name: String(cls) })),
  };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'yolo-trt-capture-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('capture', () => {
  it('writes images, YOLO labels and data.yaml', async () => {
    const sink = await CaptureSink.open({ dir, names: ['person', 'car'], policies: { rate: 1 } });
    expect(sink.offer(JPEG, result([[1, 0.8]]))).toBe(true);
    await sink.flush();
    const images = await readdir(path.join(dir, 'images'));
    expect(images).toHaveLength(1);
    expect(images[0]).toMatch(/\.jpg$/);
    const id = images[0]!.replace(/\.jpg$/, '');
    expect(await readFile(path.join(dir, 'labels', `${id}.txt`), 'utf8')).toBe(
      '1 0.500000 0.500000 0.500000 0.500000\n',
    );
    expect(new Uint8Array(await readFile(path.join(dir, 'images', images[0]!)))).toEqual(JPEG);
    const yaml = await readFile(path.join(dir, 'data.yaml'), 'utf8');
    expect(yaml).toMatch(/^names:\n {2}0: "person"\n {2}1: "car"$/m);
    expect(yaml).toMatch(/^train: images$/m);
    expect(sink.stats).toMatchObject({ captured: 1, files: 1, byReason: { rate: 1 } });
  });

  it('applies each policy', async () => {
    let r = 0.99;
    const sink = await CaptureSink.open({
      dir,
      names: ['a', 'b', 'c'],
      policies: { rate: 0.1, lowConfidence: 0.4, driftAlert: true, classQuota: 1 },
      random: () => r,
    });
    expect(sink.decide(result([[0, 0.9]]), { driftAlert: true })).toBe('driftAlert');
    expect(sink.decide(result([[0, 0.3]]))).toBe('lowConfidence');
    expect(sink.decide(result([[2, 0.9]]))).toBe('classQuota');
    sink.offer(JPEG, result([[2, 0.9]]));
    expect(sink.decide(result([[2, 0.9]]))).toBeNull(); // quota of class 2 used
    r = 0.05;
    expect(sink.decide(result([[2, 0.9]]))).toBe('rate');
    await sink.flush();
  });

  it('keeps at most maxFiles, dropping the oldest, also across restarts', async () => {
    const sink = await CaptureSink.open({ dir, names: ['a'], policies: { rate: 1 }, maxFiles: 3 });
    for (let i = 0; i < 5; i++) {
      sink.offer(i === 4 ? PNG : JPEG, result());
      await sink.flush();
    }
    const images = (await readdir(path.join(dir, 'images'))).sort();
    expect(images).toHaveLength(3);
    expect(images[2]).toMatch(/\.png$/);
    expect(sink.stats).toMatchObject({ captured: 5, evicted: 2, files: 3 });
    const reopened = await CaptureSink.open({ dir, names: ['a'], policies: { rate: 1 }, maxFiles: 2 });
    expect(reopened.stats.files).toBe(2);
    expect((await readdir(path.join(dir, 'labels'))).length).toBe(2);
  });

  it('keeps at most maxBytes', async () => {
    const sink = await CaptureSink.open({ dir, names: ['a'], policies: { rate: 1 }, maxBytes: 300 });
    for (let i = 0; i < 4; i++) sink.offer(JPEG, result());
    await sink.flush();
    expect(sink.stats.bytes).toBeLessThanOrEqual(300);
    expect(sink.stats.files).toBe(2);
  });

  it('drops and counts when the queue is full, without waiting for the disk', async () => {
    const sink = await CaptureSink.open({ dir, names: ['a'], policies: { rate: 1 }, queueSize: 2 });
    const queued = Array.from({ length: 10 }, () => sink.offer(JPEG, result()));
    expect(queued.filter(Boolean).length).toBeLessThan(10);
    expect(sink.stats.dropped).toBe(queued.filter((q) => !q).length);
    await sink.flush();
    expect(sink.stats.captured).toBe(queued.filter(Boolean).length);
  });

  it('refuses bad options with coded errors', async () => {
    await expect(CaptureSink.open({ dir, names: [], policies: { rate: 2 } })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
    });
    await expect(CaptureSink.open({ dir, names: [], policies: { classQuota: 0 } })).rejects.toThrow(
      /classQuota/,
    );
    await expect(CaptureSink.open({ dir, names: [], policies: {}, maxFiles: -1 })).rejects.toThrow(
      /maxFiles/,
    );
  });

  it('knows image types and clamps labels', () => {
    expect(imageExtension(JPEG)).toBe('jpg');
    expect(imageExtension(PNG)).toBe('png');
    expect(imageExtension(new Uint8Array([1, 2]))).toBe('bin');
    const r = result();
    r.detections[0]!.box = [-10, -10, 250, 50];
    expect(yoloLabels(r)).toBe('0 0.600000 0.200000 1.000000 0.600000');
  });
});
