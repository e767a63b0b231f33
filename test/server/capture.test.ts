// Capture for retraining in the server, on the fake detector (conf = first byte / 255): low-confidence
// images land in the dataset directory with their labels, confident ones do not; metrics count them.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseServeConfig } from '../../dist/server/server-config.js';
import { fakeServer } from './helpers.js';

let dir: string;
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('capture in the server', () => {
  it('captures low-confidence images of the configured model, off the request path', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'yolo-trt-capture-server-'));
    const { app, made } = await fakeServer({ capture: { fake: { dir, lowConfidence: 0.5 } } });
    try {
      const post = (first: number) =>
        app.inject({
          method: 'POST',
          url: '/v2/models/fake/detect',
          headers: { 'content-type': 'application/octet-stream' },
          payload: Buffer.from([first, 0xd8, 1, 2, 3, 4, 5, 6]),
        });
      expect((await post(10)).statusCode).toBe(200); // conf 0.04: captured
      expect((await post(250)).statusCode).toBe(200); // conf 0.98: not captured
      expect((await post(20)).statusCode).toBe(200); // captured
      // Capture alone does not ask the detector for image statistics.
      expect(made[0]!.optionsSeen.every((o) => o?.imageStats === undefined)).toBe(true);
      await app.yolo.capture!.flush();
      const images = await readdir(path.join(dir, 'images'));
      expect(images).toHaveLength(2);
      const labels = await readdir(path.join(dir, 'labels'));
      expect(labels).toHaveLength(2);
      const label = await readFile(path.join(dir, 'labels', labels[0]!), 'utf8');
      expect(label).toMatch(/^0 [0-9.]+ [0-9.]+ [0-9.]+ [0-9.]+\n$/);
      expect(await readFile(path.join(dir, 'data.yaml'), 'utf8')).toMatch(/0: "person"/);
      const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(/^yolo_trt_capture_total\{model="fake",reason="lowConfidence"\} 2$/m);
      expect(metrics).toMatch(/^yolo_trt_capture_dropped_total\{model="fake"\} 0$/m);
    } finally {
      await app.close();
    }
  });

  it('reads the capture section of the config file', () => {
    dir = '/nonexistent';
    const c = parseServeConfig({ capture: { det: { dir: 'cap', rate: 0.1, maxFiles: 100 } } }, '/srv', 'c');
    expect(c.capture).toEqual({ det: { dir: '/srv/cap', rate: 0.1, maxFiles: 100 } });
    expect(() => parseServeConfig({ capture: { det: { rate: 0.1 } } }, '/srv', 'c')).toThrow(/dir/);
    expect(() => parseServeConfig({ capture: { det: { dir: 'x', ratio: 1 } } }, '/srv', 'c')).toThrow(
      /ratio/,
    );
  });
});
