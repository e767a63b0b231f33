// Drift monitoring in the server, with the real model: a profile of 25 val2017 images, a server that
// compares its traffic with it, darkened images sent to the detect route, then GET .../drift and the
// Prometheus gauges say alert. Over loopback HTTP.
import { readdir, readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Detector, createProfile, createServer, saveProfile } from '../../dist/index.js';
import { ASSETS, errorBody, listen, modelPath } from './helpers.js';

const MODEL = modelPath('yolo11n.onnx');
let dir: string;
let profileFile: string;
let app: FastifyInstance;
let base: string;
let images: Buffer[];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'yolo-trt-drift-server-'));
  const dataset = path.join(ASSETS, 'datasets/val2017-50');
  const files = (await readdir(dataset)).filter((f) => f.endsWith('.jpg')).sort();
  images = await Promise.all(files.slice(0, 25).map((f) => readFile(path.join(dataset, f))));
  const detector = await Detector.create({ model: MODEL, backend: 'cpu' });
  try {
    profileFile = path.join(dir, 'profile.json');
    await saveProfile(profileFile, await createProfile(detector, images));
  } finally {
    await detector.dispose();
  }
  app = await createServer({
    models: [
      { name: 'det', path: MODEL, config: { backend: 'cpu' } },
      { name: 'plain', path: MODEL, config: { backend: 'cpu' } },
    ],
    drift: { references: { det: profileFile }, window: 25 },
    processMetrics: false,
  });
  base = await listen(app);
}, 180_000);

afterAll(async () => {
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

async function detect(model: string, body: Buffer): Promise<void> {
  const r = await fetch(`${base}/v2/models/${model}/detect`, {
    method: 'POST',
    headers: { 'content-type': 'image/jpeg' },
    body,
  });
  expect(r.status).toBe(200);
}

describe('drift in the server', () => {
  it('has no verdict before the minimum window', async () => {
    await detect('det', images[0]!);
    const r = await fetch(`${base}/v2/models/det/drift`);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({
      window: 1,
      minWindow: 25,
      ready: false,
      alert: false,
      features: {},
    });
  });

  it('alerts on darkened traffic, in the route and in the gauges', async () => {
    for (const img of images) await detect('det', await sharp(img).linear(0.35, 0).jpeg().toBuffer());
    // Reports are cached for a second.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const r = await fetch(`${base}/v2/models/det/drift`);
    const report = (await r.json()) as {
      window: number;
      alert: boolean;
      alerts: string[];
      features: Record<string, { psi?: number; status: string; reference: number[]; current: number[] }>;
    };
    expect(report.window).toBe(25);
    expect(report.alert).toBe(true);
    expect(report.alerts).toContain('lumaMean');
    expect(report.features.lumaMean!.status).toBe('alert');
    expect(report.features.lumaMean!.reference.length).toBe(report.features.lumaMean!.current.length);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^yolo_trt_drift_alert\{model="det"\} 1$/m);
    expect(metrics).toMatch(/^yolo_trt_drift_score\{model="det",feature="lumaMean"\} [0-9.]+$/m);
    expect(metrics).toMatch(/^yolo_trt_drift_window_images\{model="det"\} 25$/m);
    expect(metrics).not.toMatch(/yolo_trt_drift_alert\{model="plain"/);
  }, 120_000);

  it('answers 404 for a model without a reference and for an unknown model', async () => {
    const plain = await fetch(`${base}/v2/models/plain/drift`);
    expect(plain.status).toBe(404);
    expect(errorBody(await plain.text())).toMatchObject({ code: 'ERR_NOT_FOUND' });
    const unknown = await fetch(`${base}/v2/models/nope/drift`);
    expect(unknown.status).toBe(404);
  });

  it('refuses to start with a profile of another model', async () => {
    await expect(
      createServer({
        models: [{ name: 'int8', path: modelPath('yolo11n-dynint8.onnx'), config: { backend: 'cpu' } }],
        drift: { references: { int8: profileFile } },
        processMetrics: false,
      }),
    ).rejects.toMatchObject({ code: 'ERR_PROFILE_MODEL_MISMATCH' });
  });

  it('refuses a reference for a model it does not serve, and a broken profile', async () => {
    await expect(
      createServer({ models: [], drift: { references: { ghost: profileFile } }, processMetrics: false }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    const broken = path.join(dir, 'broken.json');
    await writeFile(broken, '{"format":"yolo-trt-drift-profile","version":9}');
    await expect(
      createServer({
        models: [{ name: 'det', path: MODEL }],
        drift: { references: { det: broken } },
        processMetrics: false,
      }),
    ).rejects.toMatchObject({ code: 'ERR_PROFILE_INVALID' });
  });
});
