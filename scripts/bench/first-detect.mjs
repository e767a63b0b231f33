#!/usr/bin/env node
/**
 * First detect after `Detector.create` vs steady state, with and without the warm-up `create` runs
 * (DetectorOptions.warmup). Each case runs in a fresh Node process, since first-use costs are per
 * process. Prints a table and writes .bench/first-detect.json. A script, not a test: it asserts nothing.
 *
 *   node scripts/bench/first-detect.mjs [--image PATH] [--model PATH] [--steady N] [--out FILE]
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const ASSETS = path.resolve(process.env.YOLO_TRT_ASSETS ?? '../shared/assets');
const { values: args } = parseArgs({
  options: {
    image: { type: 'string', default: path.join(ASSETS, 'images/bus.jpg') },
    model: { type: 'string', default: path.join(ASSETS, 'models/yolo11n.onnx') },
    steady: { type: 'string', default: '20' },
    out: { type: 'string', default: '.bench/first-detect.json' },
    child: { type: 'string' },
  },
});

if (args.child !== undefined) {
  // One process: create (timed), first detect (timed), then `steady` more.
  const { Detector } = await import('../../dist/index.js');
  const warmup = args.child === 'on';
  let t = performance.now();
  const detector = await Detector.create({ model: args.model, backend: 'cpu', warmup });
  const createMs = performance.now() - t;
  const times = [];
  const inference = [];
  for (let i = 0; i <= Number(args.steady); i++) {
    t = performance.now();
    const r = await detector.detect(args.image);
    times.push(performance.now() - t);
    inference.push(r.speed.preprocess + r.speed.inference + r.speed.postprocess);
  }
  await detector.dispose();
  const p50 = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  process.stdout.write(
    JSON.stringify({
      warmup,
      createMs,
      firstMs: times[0],
      firstSpeedMs: inference[0],
      steadyP50Ms: p50(times.slice(1)),
      steadySpeedP50Ms: p50(inference.slice(1)),
    }),
  );
  process.exit(0);
}

const rows = [];
for (const mode of ['off', 'on']) {
  const out = execFileSync(
    process.execPath,
    [
      import.meta.filename,
      '--child',
      mode,
      '--image',
      args.image,
      '--model',
      args.model,
      '--steady',
      args.steady,
    ],
    { encoding: 'utf8' },
  );
  rows.push(JSON.parse(out));
}
const f = (n) => n.toFixed(1);
console.log(
  `first detect vs steady (${path.basename(args.model)}, ${path.basename(args.image)}, cpu, ${os.cpus().length} cores, Node ${process.versions.node})`,
);
console.log(
  '| warm-up in create | create ms | first detect ms | steady p50 ms | first / steady | first speed sum ms | steady speed sum p50 ms |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(
    `| ${r.warmup ? 'on (default)' : 'off'} | ${f(r.createMs)} | ${f(r.firstMs)} | ${f(r.steadyP50Ms)} | ${(r.firstMs / r.steadyP50Ms).toFixed(2)}x | ${f(r.firstSpeedMs)} | ${f(r.steadySpeedP50Ms)} |`,
  );
}
await mkdir(path.dirname(args.out), { recursive: true });
await writeFile(
  args.out,
  JSON.stringify({ node: process.versions.node, cores: os.cpus().length, rows }, null, 2) + '\n',
);
console.log(`wrote ${args.out}`);
