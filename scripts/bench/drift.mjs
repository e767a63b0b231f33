#!/usr/bin/env node
/**
 * Drift benchmark on the shared val2017-50 images: how often the drift verdict alarms on images of the
 * reference's own distribution, and how often it catches synthetic shifts.
 *
 * Each of `--splits` random splits (seeded) cuts the 50 images into a 25-image reference (a profile) and
 * 25 held-out images. The held-out images form one window as they are (false-alarm rate), and one window
 * per shift of the same held-out images: darkened x0.35, Gaussian blur sigma 6, downscaled to 25% and
 * back, rotated 90 degrees, grayscale. Features come from the real pipeline (CPU backend, yolo11n,
 * image statistics from the native letterbox pass), computed once per image.
 *
 *   node scripts/bench/drift.mjs [--splits 100] [--reference 25] [--window 25] [--seed 1] [--out FILE]
 *
 * A script, not a test: it prints a table and writes JSON. Requires `npm run build`.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { Detector, DriftMonitor, buildProfile, collectFeatures } from '../../dist/index.js';

const ASSETS = path.resolve(process.env.YOLO_TRT_ASSETS ?? '../shared/assets');

const { values: args } = parseArgs({
  options: {
    splits: { type: 'string', default: '100' },
    reference: { type: 'string', default: '25' },
    window: { type: 'string', default: '25' },
    seed: { type: 'string', default: '1' },
    alpha: { type: 'string', default: '0.05' },
    model: { type: 'string', default: path.join(ASSETS, 'models/yolo11n.onnx') },
    images: { type: 'string', default: path.join(ASSETS, 'datasets/val2017-50') },
    out: { type: 'string', default: '.bench/drift.json' },
    cache: { type: 'string', default: '.bench/drift-features.json' },
  },
});
const splits = Number(args.splits);
const refSize = Number(args.reference);
const windowSize = Number(args.window);

/** The synthetic shifts, each a sharp pipeline over the original JPEG bytes. */
const SHIFTS = {
  dark: (img) => img.linear(0.35, 0),
  blur: (img) => img.blur(6),
  downscale: async (img, meta) => {
    const small = await img
      .resize(Math.max(1, Math.round(meta.width * 0.25)), Math.max(1, Math.round(meta.height * 0.25)))
      .png()
      .toBuffer();
    return sharp(small).resize(meta.width, meta.height);
  },
  rotate90: (img) => img.rotate(90),
  grayscale: (img) => img.grayscale(),
};

async function shifted(bytes, shift) {
  const meta = await sharp(bytes).metadata();
  const img = await SHIFTS[shift](sharp(bytes).rotate(), meta);
  return img.png().toBuffer();
}

async function features(files) {
  const cacheKey = JSON.stringify({
    model: path.basename(args.model),
    files: files.map((f) => path.basename(f)),
  });
  try {
    const cached = JSON.parse(await readFile(args.cache, 'utf8'));
    if (cached.key === cacheKey) return cached.features;
  } catch {
    // no cache yet
  }
  const detector = await Detector.create({ model: args.model, backend: 'cpu' });
  const out = { original: [] };
  try {
    const originals = await Promise.all(files.map((f) => readFile(f)));
    out.original = await collectFeatures(detector, originals);
    for (const shift of Object.keys(SHIFTS)) {
      const inputs = [];
      for (const bytes of originals) inputs.push(await shifted(bytes, shift));
      out[shift] = await collectFeatures(detector, inputs);
      process.stderr.write(`features: ${shift} done\n`);
    }
  } finally {
    await detector.dispose();
  }
  await mkdir(path.dirname(args.cache), { recursive: true });
  await writeFile(args.cache, JSON.stringify({ key: cacheKey, features: out }));
  return out;
}

/** Mulberry32: a small seeded generator, so every run draws the same splits. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const files = (await readdir(args.images))
  .filter((f) => /\.(jpe?g|png)$/i.test(f))
  .sort()
  .map((f) => path.join(args.images, f));
if (files.length < refSize + windowSize)
  throw new Error(`need ${refSize + windowSize} images, found ${files.length}`);
const feats = await features(files);
const scenarios = ['same', ...Object.keys(SHIFTS)];
const stats = Object.fromEntries(scenarios.map((s) => [s, { alerts: 0, warns: 0, features: {} }]));
const random = rng(Number(args.seed));
const model = { file: path.basename(args.model), sha256: '0'.repeat(64), names: [] };
for (let s = 0; s < splits; s++) {
  const order = files.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const ref = order.slice(0, refSize);
  const held = order.slice(refSize, refSize + windowSize);
  const profile = buildProfile(
    ref.map((i) => feats.original[i]),
    model,
  );
  for (const scenario of scenarios) {
    const source = scenario === 'same' ? feats.original : feats[scenario];
    const monitor = new DriftMonitor(profile, {
      window: windowSize,
      minWindow: Math.min(windowSize, 50),
      alpha: Number(args.alpha),
    });
    for (const i of held) monitor.observe(source[i]);
    const report = monitor.report();
    const st = stats[scenario];
    if (report.alert) st.alerts++;
    if (Object.values(report.features).some((f) => f.status !== 'ok')) st.warns++;
    for (const [name, f] of Object.entries(report.features)) {
      const e = (st.features[name] ??= { alert: 0, warn: 0, score: 0 });
      if (f.status === 'alert') e.alert++;
      if (f.status === 'warn') e.warn++;
      e.score += (f.psi ?? f.js) / splits;
    }
  }
}

const pct = (n) => `${((100 * n) / splits).toFixed(0)}%`;
console.log(
  `Drift verdicts over ${splits} random splits of ${files.length} val2017 images: reference ${refSize}, window ${windowSize}, alpha ${args.alpha} (${os.cpus()[0]?.model ?? 'cpu'})\n`,
);
console.log('| window | alert | warn or alert | features in alert (share of windows, mean score) |');
console.log('| --- | ---: | ---: | --- |');
for (const scenario of scenarios) {
  const st = stats[scenario];
  const firing = Object.entries(st.features)
    .filter(([, f]) => f.alert > 0)
    .sort((a, b) => b[1].alert - a[1].alert)
    .slice(0, 6)
    .map(([name, f]) => `${name} ${pct(f.alert)} (${f.score.toFixed(2)})`)
    .join(', ');
  const label = scenario === 'same' ? 'same distribution (false alarms)' : scenario;
  console.log(`| ${label} | ${pct(st.alerts)} | ${pct(st.warns)} | ${firing || '-'} |`);
}
await mkdir(path.dirname(args.out), { recursive: true });
await writeFile(
  args.out,
  JSON.stringify(
    {
      splits,
      reference: refSize,
      window: windowSize,
      seed: Number(args.seed),
      images: files.length,
      scenarios: stats,
    },
    null,
    1,
  ),
);
console.log(`\nwrote ${args.out}`);
