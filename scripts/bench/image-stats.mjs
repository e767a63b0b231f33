#!/usr/bin/env node
/**
 * Cost of measuring image statistics in the letterbox pass: native preprocess of one 1920x1080 RGB
 * image into 640x640 float32 on one thread, with and without `stats: true`, alternating runs.
 *
 *   node scripts/bench/image-stats.mjs [--runs 200] [--out .bench/image-stats.json]
 *
 * A script, not a test: it prints a table and writes JSON. Requires `npm run build`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadNative } from '../../dist/native/load.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '200' },
    out: { type: 'string', default: '.bench/image-stats.json' },
  },
});
const runs = Number(args.runs);
const native = loadNative();
const width = 1920;
const height = 1080;
const data = new Uint8Array(width * height * 3);
for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
const image = { data, width, height, stride: width * 3, format: 'rgb' };
const output = new Float32Array(3 * 640 * 640);
const times = { plain: [], stats: [] };
for (let r = 0; r < runs + 10; r++) {
  for (const mode of ['plain', 'stats']) {
    const t0 = performance.now();
    await native.preprocess([image], {
      width: 640,
      height: 640,
      dtype: 'float32',
      threads: 1,
      output,
      stats: mode === 'stats',
    });
    if (r >= 10) times[mode].push(performance.now() - t0);
  }
}
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const result = { runs, plainMs: median(times.plain), statsMs: median(times.stats) };
result.overheadPct = (100 * (result.statsMs - result.plainMs)) / result.plainMs;
console.log('| letterbox 1920x1080 -> 640x640 f32, 1 thread | median ms |');
console.log('| --- | ---: |');
console.log(`| without statistics | ${result.plainMs.toFixed(2)} |`);
console.log(`| with statistics | ${result.statsMs.toFixed(2)} (+${result.overheadPct.toFixed(0)}%) |`);
await mkdir(path.dirname(args.out), { recursive: true });
await writeFile(args.out, JSON.stringify(result, null, 1));
