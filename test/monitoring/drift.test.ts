/** Profiles and the drift window, on synthetic features with known distributions. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  DriftMonitor,
  buildProfile,
  checkProfileModel,
  extractFeatures,
  loadProfile,
  parseProfile,
  saveProfile,
  type ImageFeatures,
} from '../../dist/index.js';

const MODEL = { file: 'm.onnx', sha256: 'a'.repeat(64), names: ['person', 'car'] };

/** Deterministic pseudo-random numbers. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An image's features: brightness around `luma`, a few detections. */
function image(r: () => number, luma = 120, detections = 3): ImageFeatures {
  return extractFeatures({
    width: 640,
    height: 480,
    speed: { preprocess: 0, inference: 0, postprocess: 0 },
    imageStats: {
      meanR: luma + 20 * r(),
      meanG: luma + 20 * r(),
      meanB: luma + 20 * r(),
      stdR: 50 + 10 * r(),
      stdG: 50 + 10 * r(),
      stdB: 50 + 10 * r(),
      lumaMean: luma + 20 * r(),
      lumaStd: 50 + 10 * r(),
      contrast: 150 + 30 * r(),
      sharpness: 300 + 200 * r(),
      colorfulness: 40 + 10 * r(),
    },
    detections: Array.from({ length: Math.round(detections * (0.5 + r())) }, () => {
      const x = 500 * r();
      const y = 400 * r();
      return {
        box: [x, y, x + 20 + 100 * r(), y + 20 + 60 * r()],
        conf: 0.3 + 0.6 * r(),
        cls: r() < 0.7 ? 0 : 1,
        name: '',
      };
    }),
  });
}

function sample(n: number, seed: number, luma = 120): ImageFeatures[] {
  const r = random(seed);
  return Array.from({ length: n }, () => image(r, luma));
}

describe('drift profile', () => {
  it('refuses fewer than 25 images', () => {
    expect(() => buildProfile(sample(24, 1), MODEL)).toThrow(/at least 25 images/);
  });

  it('round-trips through JSON and refuses another model', async () => {
    const profile = buildProfile(sample(40, 1), MODEL);
    expect(Object.keys(profile.features)).toContain('sharpness');
    expect(profile.samples).toHaveLength(40);
    const dir = mkdtempSync(join(tmpdir(), 'yolo-trt-profile-'));
    await saveProfile(join(dir, 'p.json'), profile);
    const loaded = await loadProfile(join(dir, 'p.json'));
    expect(loaded).toEqual(profile);
    expect(() => checkProfileModel(loaded, 'b'.repeat(64), 'other.onnx')).toThrow(
      expect.objectContaining({ code: 'ERR_PROFILE_MODEL_MISMATCH' }),
    );
    expect(() => checkProfileModel(loaded, 'a'.repeat(64), 'm.onnx')).not.toThrow();
  });

  it('refuses malformed profiles with a coded error naming the problem', async () => {
    const good = JSON.parse(JSON.stringify(buildProfile(sample(30, 2), MODEL))) as Record<string, unknown>;
    const cases: [string, unknown, RegExp][] = [
      ['not an object', 42, /not a JSON object/],
      ['wrong format', { ...good, format: 'x' }, /format/],
      ['future version', { ...good, version: 2 }, /version 2/],
      ['bad sha', { ...good, model: { ...(good.model as object), sha256: 'zz' } }, /sha256/],
      ['unknown feature', { ...good, features: { nope: {} } }, /unknown feature 'nope'/],
      ['bad samples', { ...good, samples: [] }, /samples/],
    ];
    for (const [name, json, message] of cases) {
      expect(() => parseProfile(json, 'p.json'), name).toThrow(message);
      try {
        parseProfile(json, 'p.json');
      } catch (err) {
        expect((err as { code: string }).code).toBe('ERR_PROFILE_INVALID');
      }
    }
    const dir = mkdtempSync(join(tmpdir(), 'yolo-trt-profile-'));
    writeFileSync(join(dir, 'bad.json'), '{ nope');
    await expect(loadProfile(join(dir, 'bad.json'))).rejects.toMatchObject({ code: 'ERR_PROFILE_INVALID' });
    await expect(loadProfile(join(dir, 'missing.json'))).rejects.toMatchObject({
      code: 'ERR_PROFILE_INVALID',
    });
  });
});

describe('drift monitor', () => {
  const profile = buildProfile(sample(50, 3), MODEL);

  it('gives no verdict before the minimum window', () => {
    const m = new DriftMonitor(profile, { minWindow: 25 });
    for (const f of sample(24, 4, 40)) m.observe(f);
    const r = m.report();
    expect(r).toMatchObject({ window: 24, minWindow: 25, ready: false, alert: false, features: {} });
  });

  it('stays quiet on the same distribution and alerts on a darker one', () => {
    const same = new DriftMonitor(profile);
    for (const f of sample(50, 5)) same.observe(f);
    const quiet = same.report();
    expect(quiet.ready).toBe(true);
    expect(quiet.alert).toBe(false);

    const dark = new DriftMonitor(profile);
    for (const f of sample(50, 6, 40)) dark.observe(f);
    const r = dark.report();
    expect(r.alert).toBe(true);
    expect(r.alerts).toContain('lumaMean');
    expect(r.features.lumaMean).toMatchObject({ status: 'alert' });
    expect(r.features.lumaMean!.psi).toBeGreaterThan(0.25);
    expect(r.features.sharpness!.status).toBe('ok');
    expect(r.features.classes!.js).toBeGreaterThanOrEqual(0);
  });

  it('reportAsync gives the same report without holding the event loop', async () => {
    const m = new DriftMonitor(profile);
    for (const f of sample(50, 6, 40)) m.observe(f);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const asyncReport = await m.reportAsync();
    clearInterval(timer);
    expect(asyncReport).toEqual(m.report());
    expect(ticks).toBeGreaterThan(0);
  });

  it('keeps the last `window` images, and forgets old ones with windowMs', () => {
    let now = 0;
    const m = new DriftMonitor(profile, { window: 30, windowMs: 1000, now: () => now });
    for (const f of sample(40, 7)) m.observe(f);
    expect(m.size).toBe(30);
    now = 1500;
    for (const f of sample(5, 8)) m.observe(f);
    expect(m.size).toBe(5);
    m.reset();
    expect(m.size).toBe(0);
  });

  it('contributes output features only for tensor inputs', () => {
    const m = new DriftMonitor(profile);
    const r = random(9);
    for (let i = 0; i < 30; i++) {
      const f = image(r, 40);
      m.observe({
        values: { detections: f.values.detections!, confidence: f.values.confidence! },
        classes: f.classes,
      });
    }
    const report = m.report();
    expect(report.ready).toBe(true);
    expect(report.features.lumaMean).toBeUndefined();
    expect(report.features.detections).toBeDefined();
  });

  it('validates its options with coded errors', () => {
    expect(() => new DriftMonitor(profile, { window: 5 })).toThrow(/window/);
    expect(() => new DriftMonitor(profile, { minWindow: 60 })).toThrow(/minWindow/);
    expect(() => new DriftMonitor(profile, { alpha: 2 })).toThrow(/alpha/);
    expect(() => new DriftMonitor(profile, { thresholds: { warn: 0.5, alert: 0.2 } })).toThrow(/warn/);
    expect(() => new DriftMonitor(profile, { featureThresholds: { nope: { alert: 1 } } as never })).toThrow(
      /featureThresholds/,
    );
  });

  it('honours per-feature thresholds', () => {
    const m = new DriftMonitor(profile, { featureThresholds: { lumaMean: { warn: 50, alert: 100 } } });
    for (const f of sample(50, 6, 40)) m.observe(f);
    expect(m.report().features.lumaMean!.status).toBe('ok');
  });
});
