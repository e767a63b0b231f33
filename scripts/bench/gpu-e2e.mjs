#!/usr/bin/env node
/**
 * GPU benchmark tiers (../shared/docs/ANCHORS.md), runnable where the addon has TensorRT and a GPU:
 *   1. engine only      TensorRT enqueueV3 time per batch, from CUDA events (what trtexec and the
 *                       published "inference" numbers measure);
 *   2. GPU end to end   in-process decode -> boxes through Detector.detect/detectBatch on the tensorrt
 *                       backend (decode on CPU with sharp, letterbox + inference + NMS on the GPU), at
 *                       batch 1 and batch N, and with C concurrent callers (the execution-context pool).
 * p50/p95/p99 after warm-up; hardware and versions in the JSON.
 *
 *   node scripts/bench/gpu-e2e.mjs [--model PATH] [--images N] [--runs R] [--warmup W] [--batch B]
 *                                  [--concurrency C] [--precision fp16|fp32|int8] [--out FILE]
 *
 * Where TensorRT is not available (no TensorRT in this binary, no driver, no GPU) it says so and exits 0:
 * a benchmark is not a test. Requires `npm run build`.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { Detector, decodeImage } from '../../dist/index.js';
import { tensorrtUnavailableReason } from '../../dist/backends/select.js';
import { loadNative } from '../../dist/native/load.js';
import { ASSETS, percentile } from './common.mjs';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(ASSETS, 'models/yolo11n.onnx') },
    images: { type: 'string', default: '50' },
    runs: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '10' },
    batch: { type: 'string', default: '8' },
    concurrency: { type: 'string', default: '4' },
    precision: { type: 'string', default: 'fp16' },
    out: { type: 'string', default: '.bench/gpu-e2e.json' },
  },
});
const int = (name) => {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--${name} must be a positive integer, got '${args[name]}'`);
  return n;
};

let native;
let reason;
try {
  native = loadNative();
  reason = tensorrtUnavailableReason(native.capabilities());
} catch (err) {
  reason = `the native addon did not load: ${err.message}`;
}
if (reason !== null) {
  console.log(`gpu-e2e: TensorRT is not available here (${reason}); nothing to measure.`);
  console.log(
    'Run it on a machine with an NVIDIA GPU, its driver and a TensorRT build of yolo-trt (see docs/gpu.md).',
  );
  process.exit(0);
}

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99) };
}
const ms = (v) => v.toFixed(3);

const caps = native.capabilities();
const dir = path.join(ASSETS, 'datasets/val2017-50');
const files = (await readdir(dir))
  .filter((f) => /\.(jpe?g|png)$/i.test(f))
  .sort()
  .slice(0, int('images'));
const images = await Promise.all(files.map((f) => decodeImage(path.join(dir, f))));
console.log(
  `decoded ${images.length} images; building/loading the ${args.precision} engine (minutes on first use)...`,
);

const detector = await Detector.create({ model: path.resolve(args.model), backend: 'tensorrt' });
const batch = Math.min(int('batch'), detector.maxBatch);
const results = {
  hardware: {
    gpu: caps.cuda.devices[0],
    driver: caps.cuda.driver,
    tensorrt: native.tensorrt.version,
    cpu: os.cpus()[0]?.model,
  },
  tiers: {},
};

async function measure(name, unit, fn) {
  for (let i = 0; i < int('warmup'); i++) await fn(i);
  const wall = [];
  const engine = [];
  for (let r = 0; r < int('runs'); r++) {
    for (let i = 0; i < images.length; i += unit) {
      const t0 = performance.now();
      const out = await fn(i);
      wall.push((performance.now() - t0) / unit);
      for (const res of out) engine.push(res.speed.inference);
    }
  }
  results.tiers[name] = { endToEndMsPerImage: stats(wall), engineMsPerImage: stats(engine) };
}

await measure('batch1', 1, async (i) => [await detector.detect(images[i % images.length])]);
await measure(`batch${batch}`, batch, async (i) =>
  detector.detectBatch(Array.from({ length: batch }, (_, k) => images[(i + k) % images.length])),
);
// Concurrent callers, one image each: throughput of the context pool.
const c = int('concurrency');
const t0 = performance.now();
let done = 0;
await Promise.all(
  Array.from({ length: c }, async (_, w) => {
    for (let i = w; i < images.length * int('runs'); i += c) {
      await detector.detect(images[i % images.length]);
      done++;
    }
  }),
);
results.tiers[`concurrency${c}`] = { imagesPerSecond: done / ((performance.now() - t0) / 1000) };
await detector.dispose();

console.log(
  `\nGPU ${caps.cuda.devices[0]?.name}, TensorRT ${native.tensorrt.version}, ${args.precision}, ${path.basename(args.model)}`,
);
console.log('| tier | engine only p50/p95/p99 ms/img | end to end p50/p95/p99 ms/img |');
console.log('| --- | --- | --- |');
for (const [name, t] of Object.entries(results.tiers)) {
  if (t.engineMsPerImage === undefined) continue;
  const e = t.engineMsPerImage;
  const w = t.endToEndMsPerImage;
  console.log(
    `| ${name} | ${ms(e.p50)} / ${ms(e.p95)} / ${ms(e.p99)} | ${ms(w.p50)} / ${ms(w.p95)} / ${ms(w.p99)} |`,
  );
}
console.log(
  `| concurrency ${c} | | ${results.tiers[`concurrency${c}`].imagesPerSecond.toFixed(1)} images/s |`,
);
await mkdir(path.dirname(path.resolve(args.out)), { recursive: true });
await writeFile(args.out, JSON.stringify(results, null, 2) + '\n');
console.log(`\nwrote ${args.out}`);
