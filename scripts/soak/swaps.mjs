#!/usr/bin/env node
/**
 * Model-swap soak: does memory come back when models are swapped? Runs CYCLES cycles against an
 * in-process `createServer` on a one-model repository, each cycle doing, over HTTP, an unload + load
 * and a config reload (a load with a changed `parameters.config`, which builds a new instance and
 * retires the old one), with detect requests in flight during both; then waits for the retired
 * instances to be disposed and prints the process RSS. After --warmup cycles it fits a line through
 * RSS per cycle and prints the growth in MB per cycle. A script, not a test: it asserts nothing.
 *
 *   node --expose-gc scripts/soak/swaps.mjs [--cycles 220] [--warmup 20] [--requests 4]
 *                                           [--model PATH] [--image PATH] [--out .bench/swaps.json]
 *
 * Requires `npm run build`. RSS is read after a full GC (--expose-gc) so that what is left is what the
 * swaps kept, not garbage not yet collected.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createServer } from '../../dist/index.js';

const ASSETS = path.resolve(process.env.YOLO_TRT_ASSETS ?? '../shared/assets');
const { values: args } = parseArgs({
  options: {
    cycles: { type: 'string', default: '220' },
    warmup: { type: 'string', default: '20' },
    requests: { type: 'string', default: '4' },
    model: { type: 'string', default: path.join(ASSETS, 'models/yolo11n.onnx') },
    image: { type: 'string', default: path.join(ASSETS, 'images/bus.jpg') },
    out: { type: 'string', default: '.bench/swaps.json' },
  },
});
const CYCLES = Number(args.cycles);
const WARMUP = Number(args.warmup);
const REQUESTS = Number(args.requests);
if (!Number.isInteger(CYCLES) || !Number.isInteger(WARMUP) || CYCLES <= WARMUP + 1 || WARMUP < 0) {
  throw new Error('--cycles must be an integer above --warmup + 1');
}
const IMAGE = await readFile(args.image);
const gc =
  globalThis.gc ?? (() => process.stderr.write('(run with --expose-gc for a full GC before each reading)\n'));

const repo = await mkdtemp(path.join(os.tmpdir(), 'yolo-trt-soak-'));
await mkdir(path.join(repo, 'm', '1'), { recursive: true });
await copyFile(args.model, path.join(repo, 'm', '1', 'model.onnx'));
const app = await createServer({ modelRepository: repo, processMetrics: false, demoPage: false });
await app.listen({ port: 0, host: '127.0.0.1' });
const base = `http://127.0.0.1:${app.server.address().port}`;

const post = (url, body, type = 'application/json') =>
  fetch(base + url, { method: 'POST', body, headers: { 'content-type': type } });
/** Detect requests during a swap: each may be answered 200, or 503 while no version serves. */
const traffic = () =>
  Promise.all(
    Array.from({ length: REQUESTS }, () =>
      post('/v2/models/m/detect', IMAGE, 'image/jpeg').then(async (r) => {
        await r.arrayBuffer();
        return r.status;
      }),
    ),
  );
async function expectOk(res, what) {
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${what}: HTTP ${res.status} ${text}`);
}

const mb = (b) => b / 2 ** 20;
const rows = [];
const statuses = {};
const t0 = performance.now();
try {
  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    // Unload + load, requests in flight.
    const during1 = traffic();
    await expectOk(await post('/v2/repository/models/m/unload', '{}'), 'unload');
    await expectOk(await post('/v2/repository/models/m/load', '{}'), 'load');
    // Config reload: a changed config builds a new instance and retires the serving one.
    const during2 = traffic();
    const config = JSON.stringify({ conf: cycle % 2 === 0 ? 0.25 : 0.3 });
    await expectOk(
      await post('/v2/repository/models/m/load', JSON.stringify({ parameters: { config } })),
      'reload',
    );
    for (const s of [...(await during1), ...(await during2)]) statuses[s] = (statuses[s] ?? 0) + 1;
    await app.yolo.registry.settled();
    gc();
    const m = process.memoryUsage();
    rows.push({ cycle, rssMB: mb(m.rss), heapUsedMB: mb(m.heapUsed), externalMB: mb(m.external) });
    process.stdout.write(
      `cycle ${String(cycle).padStart(4)}  rss ${mb(m.rss).toFixed(1).padStart(7)} MB  heap ${mb(m.heapUsed).toFixed(1).padStart(6)} MB  external ${mb(m.external).toFixed(1).padStart(6)} MB\n`,
    );
  }
} finally {
  await app.close();
  await rm(repo, { recursive: true, force: true });
}

/** Least-squares slope of y over x. */
function slope(points) {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return num / den;
}
const measured = rows.filter((r) => r.cycle > WARMUP);
const rssSlope = slope(measured.map((r) => [r.cycle, r.rssMB]));
const first = measured[0];
const last = measured.at(-1);
const summary = {
  date: new Date().toISOString(),
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  node: process.version,
  mallocArenaMax: process.env.MALLOC_ARENA_MAX ?? null,
  cycles: CYCLES,
  warmup: WARMUP,
  requestsPerSwap: REQUESTS,
  detectStatuses: statuses,
  minutes: (performance.now() - t0) / 60_000,
  rssAfterWarmupMB: first.rssMB,
  rssEndMB: last.rssMB,
  rssMaxMB: Math.max(...measured.map((r) => r.rssMB)),
  growthMBPerCycle: rssSlope,
  rows,
};
console.log(
  `\n${CYCLES} cycles (unload+load and config reload each, ${REQUESTS} detect requests during each swap), ` +
    `${summary.minutes.toFixed(1)} min: RSS after warm-up (cycle ${WARMUP + 1}) ${first.rssMB.toFixed(1)} MB, ` +
    `at the end ${last.rssMB.toFixed(1)} MB, max ${summary.rssMaxMB.toFixed(1)} MB; ` +
    `growth ${rssSlope.toFixed(3)} MB/cycle over cycles ${WARMUP + 1}-${CYCLES} (least squares). Detect answers: ${JSON.stringify(statuses)}`,
);
await mkdir(path.dirname(path.resolve(args.out)), { recursive: true });
await writeFile(args.out, JSON.stringify(summary, null, 2));
console.log(`wrote ${args.out}`);
