#!/usr/bin/env node
/**
 * In-process end-to-end CPU benchmark (tier 2 of ../shared/docs/ANCHORS.md: decode -> boxes), run
 * side by side with the pipeline a Node developer writes by hand from the usual tutorials:
 *   sharp decode + resize (fit 'contain', pad 114) -> Float32Array HWC->CHW loop
 *   -> onnxruntime-node InferenceSession.run on the main thread -> NMS in plain JS.
 * Plus micro-benchmarks of our native letterbox (1920x1080 -> 640x640, one thread) and postprocess
 * (one [1, 84, 8400] output).
 *
 *   npm run bench -- [--images N] [--runs R] [--warmup W] [--model PATH] [--out FILE]
 *
 * A script, not a test: it asserts nothing about time. Warm-up runs are excluded; latencies are
 * p50/p95/p99 over every timed image of every run. Requires `npm run build` (dist/ and the addon).
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { Detector, decodeImage } from '../../dist/index.js';
import { loadNative } from '../../dist/native/load.js';
import { ASSETS, percentile } from './common.mjs';

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '50' },
    runs: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '3' },
    model: { type: 'string', default: path.join(ASSETS, 'models/yolo11n.onnx') },
    out: { type: 'string', default: '.bench/cpu-e2e.json' },
    'micro-runs': { type: 'string', default: '200' },
  },
});
const positiveInt = (name) => {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--${name} must be a positive integer, got '${args[name]}'`);
  return n;
};
const IMAGES = positiveInt('images');
const RUNS = positiveInt('runs');
const WARMUP = positiveInt('warmup');
const MICRO_RUNS = positiveInt('micro-runs');
const MODEL = path.resolve(args.model);

// ---------------------------------------------------------------------------------------------------
// statistics

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / Math.max(1, s.length);
  return {
    n: s.length,
    mean,
    p50: percentile(s, 50),
    p95: percentile(s, 95),
    p99: percentile(s, 99),
    max: s.at(-1),
  };
}

/**
 * Event-loop delay while a pipeline runs: what a co-hosted HTTP server would feel. A 5 ms timer chain
 * records how late each tick fires, only while the pipeline's own runs execute (perf_hooks'
 * monitorEventLoopDelay cannot be paused: re-enabling it counts the paused time as one huge delay). On a
 * loaded machine this includes time the OS did not schedule the main thread, so read p99 next to max.
 */
class LoopLag {
  #samples = [];

  async measure(fn) {
    const period = 5;
    let last = performance.now();
    let timer;
    const tick = () => {
      const now = performance.now();
      this.#samples.push(Math.max(0, now - last - period));
      last = now;
      timer = setTimeout(tick, period);
    };
    timer = setTimeout(tick, period);
    try {
      const value = await fn();
      // If fn ended with a blocking stretch (session.run on this thread), the overdue tick has not run
      // yet: let it fire (timers run in due order) before stopping, or that stretch would go unseen.
      await new Promise((resolve) => setTimeout(resolve, 0));
      return value;
    } finally {
      clearTimeout(timer);
    }
  }

  get maxMs() {
    return this.#samples.reduce((a, b) => Math.max(a, b), 0);
  }

  get p99Ms() {
    return percentile(
      [...this.#samples].sort((a, b) => a - b),
      99,
    );
  }
}

// ---------------------------------------------------------------------------------------------------
// the hand-written pipeline (what tutorials show), kept deliberately ordinary

const CONF = 0.25;
const IOU = 0.7;
const MAX_DET = 300;

async function handPreprocess(file, size) {
  const meta = await sharp(file).metadata();
  const { data } = await sharp(file)
    .resize(size, size, { fit: 'contain', background: { r: 114, g: 114, b: 114 } })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: meta.width, height: meta.height };
}

function handToTensor(hwc, size) {
  const plane = size * size;
  const chw = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    chw[i] = hwc[i * 3] / 255;
    chw[plane + i] = hwc[i * 3 + 1] / 255;
    chw[2 * plane + i] = hwc[i * 3 + 2] / 255;
  }
  return chw;
}

function iou(a, b) {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/** Output [1, 4 + nc, N] -> boxes in original pixels, class-aware greedy NMS, as a tutorial writes it. */
function handPostprocess(out, dims, origW, origH, size) {
  const [, rows, anchors] = dims;
  const nc = rows - 4;
  const candidates = [];
  for (let a = 0; a < anchors; a++) {
    let best = 0;
    let cls = -1;
    for (let c = 0; c < nc; c++) {
      const s = out[(4 + c) * anchors + a];
      if (s > best) {
        best = s;
        cls = c;
      }
    }
    if (best <= CONF) continue;
    const cx = out[a];
    const cy = out[anchors + a];
    const w = out[2 * anchors + a];
    const h = out[3 * anchors + a];
    candidates.push({ box: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], conf: best, cls });
  }
  candidates.sort((p, q) => q.conf - p.conf);
  const kept = [];
  for (const c of candidates) {
    if (kept.length >= MAX_DET) break;
    if (kept.every((k) => k.cls !== c.cls || iou(k.box, c.box) <= IOU)) kept.push(c);
  }
  // sharp's 'contain' centres the resized image
  const gain = Math.min(size / origW, size / origH);
  const padX = (size - Math.round(origW * gain)) / 2;
  const padY = (size - Math.round(origH * gain)) / 2;
  for (const k of kept) {
    k.box = [
      Math.min(origW, Math.max(0, (k.box[0] - padX) / gain)),
      Math.min(origH, Math.max(0, (k.box[1] - padY) / gain)),
      Math.min(origW, Math.max(0, (k.box[2] - padX) / gain)),
      Math.min(origH, Math.max(0, (k.box[3] - padY) / gain)),
    ];
  }
  return kept;
}

async function handDetect(session, file, size) {
  const t0 = performance.now();
  const { data, width, height } = await handPreprocess(file, size);
  const t1 = performance.now();
  const tensor = new ort.Tensor('float32', handToTensor(data, size), [1, 3, size, size]);
  const t2 = performance.now();
  const outputs = await session.run({ [session.inputNames[0]]: tensor });
  const out = outputs[session.outputNames[0]];
  const t3 = performance.now();
  const detections = handPostprocess(out.data, out.dims, width, height, size);
  const t4 = performance.now();
  return {
    detections,
    decodeResize: t1 - t0,
    tensor: t2 - t1,
    inference: t3 - t2,
    postprocess: t4 - t3,
    total: t4 - t0,
  };
}

// ---------------------------------------------------------------------------------------------------
// runs

async function listImages() {
  const dir = path.join(ASSETS, 'datasets/val2017-50');
  const names = (await readdir(dir)).filter((n) => /\.(jpe?g|png|webp)$/i.test(n)).sort();
  if (names.length === 0) throw new Error(`no images in ${dir}`);
  return names.slice(0, IMAGES).map((n) => path.join(dir, n));
}

async function oursDetect(detector, file) {
  const s = performance.now();
  const r = await detector.detect(file);
  return { total: performance.now() - s, ...r.speed };
}

async function oursDecode(file) {
  const s = performance.now();
  await decodeImage(file);
  return performance.now() - s;
}

async function microLetterbox(native, runs) {
  // A real 1920x1080 frame (bus.jpg stretched), as a video pipeline would hand it over.
  const { data } = await sharp(path.join(ASSETS, 'images/bus.jpg'))
    .resize(1920, 1080, { fit: 'fill' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const frame = {
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: 1920,
    height: 1080,
    stride: 1920 * 3,
    format: 'rgb',
  };
  const opts = { width: 640, height: 640, dtype: 'float32', threads: 1 };
  const wall = [];
  const nativeMs = [];
  for (let i = 0; i < runs + 10; i++) {
    const s = performance.now();
    const r = await native.preprocess([frame], opts);
    const e = performance.now() - s;
    if (i >= 10) {
      wall.push(e);
      nativeMs.push(r.msPerImage);
    }
  }
  // The same frame through the hand-written route: sharp contain-resize from raw + CHW loop.
  const hand = [];
  for (let i = 0; i < Math.min(runs, 50) + 3; i++) {
    const s = performance.now();
    const { data: out } = await sharp(data, { raw: { width: 1920, height: 1080, channels: 3 } })
      .resize(640, 640, { fit: 'contain', background: { r: 114, g: 114, b: 114 } })
      .raw()
      .toBuffer({ resolveWithObject: true });
    handToTensor(out, 640);
    if (i >= 3) hand.push(performance.now() - s);
  }
  return { frame, wall: stats(wall), native: stats(nativeMs), handSharp: stats(hand) };
}

async function microPostprocess(native, session, runs) {
  // A real raw output: bus.jpg letterboxed by our native code, run by onnxruntime.
  const bus = await decodeImage(path.join(ASSETS, 'images/bus.jpg'));
  const pre = await native.preprocess([bus], { width: 640, height: 640, dtype: 'float32', threads: 1 });
  const outputs = await session.run({
    [session.inputNames[0]]: new ort.Tensor('float32', pre.tensor, [1, 3, 640, 640]),
  });
  const out = outputs[session.outputNames[0]];
  const dims = out.dims;
  const data = out.data;
  const opts = {
    dims: [dims[0], dims[1], dims[2]],
    conf: CONF,
    iou: IOU,
    maxDet: MAX_DET,
    agnostic: false,
    classes: null,
    inputWidth: 640,
    inputHeight: 640,
    origSizes: new Int32Array([bus.width, bus.height]),
    threads: 1,
  };
  const wall = [];
  const nativeMs = [];
  let count = 0;
  for (let i = 0; i < runs + 10; i++) {
    const s = performance.now();
    const r = await native.postprocess(data, opts);
    const e = performance.now() - s;
    count = r.detections[0].length / 6;
    if (i >= 10) {
      wall.push(e);
      nativeMs.push(r.msPerImage);
    }
  }
  const js = [];
  for (let i = 0; i < runs + 10; i++) {
    const s = performance.now();
    handPostprocess(data, dims, bus.width, bus.height, 640);
    if (i >= 10) js.push(performance.now() - s);
  }
  return {
    dims: [...dims],
    detections: count,
    wall: stats(wall),
    native: stats(nativeMs),
    handJs: stats(js),
  };
}

// ---------------------------------------------------------------------------------------------------
// output

const f1 = (v) => (Number.isFinite(v) ? v.toFixed(1) : '-');
const f2 = (v) => (Number.isFinite(v) ? v.toFixed(2) : '-');

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows
    .map((r, i) => {
      const line = r
        .map((v, c) => (c === 0 ? String(v).padEnd(widths[c]) : String(v).padStart(widths[c])))
        .join('  ');
      return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

async function main() {
  const cpus = os.cpus();
  const machine = {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: os.availableParallelism?.() ?? cpus.length,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    onnxruntime: ort.env.versions?.common ?? 'unknown',
    libvips: sharp.versions.vips,
  };
  const files = await listImages();
  console.log(`yolo-trt CPU end-to-end benchmark`);
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.platform}, node ${machine.node}`);
  console.log(`model: ${MODEL}`);
  console.log(
    `images: ${files.length} from datasets/val2017-50, ${RUNS} timed run(s), ${WARMUP} warm-up image(s) each side\n`,
  );

  const native = loadNative();
  const detector = await Detector.create({ model: MODEL, backend: 'cpu' });
  const session = await ort.InferenceSession.create(MODEL); // tutorial defaults
  const [size] = detector.model.imgsz;
  try {
    // warm-up, excluded
    for (const f of files.slice(0, WARMUP)) {
      await detector.detect(f);
      await handDetect(session, f, size);
    }

    // Sequential: the two pipelines alternate image by image (and which goes first alternates too), so
    // load from other processes on a shared machine hits both alike.
    const ours = { lat: [], pre: [], inf: [], post: [], lag: new LoopLag() };
    const hand = {
      lat: [],
      parts: { decodeResize: [], tensor: [], inference: [], postprocess: [] },
      lag: new LoopLag(),
    };
    const decode = [];
    // Throughput: detectBatch over all images, then the hand-written loop over the same images, adjacent.
    const batch = { wallMs: 0, images: 0, lag: new LoopLag() };
    const handLoop = { wallMs: 0, images: 0, lag: new LoopLag() };
    for (let r = 0; r < RUNS; r++) {
      for (const [i, f] of files.entries()) {
        const runOurs = async () => {
          const o = await ours.lag.measure(() => oursDetect(detector, f));
          ours.lat.push(o.total);
          ours.pre.push(o.preprocess);
          ours.inf.push(o.inference);
          ours.post.push(o.postprocess);
        };
        const runHand = async () => {
          const h = await hand.lag.measure(() => handDetect(session, f, size));
          hand.lat.push(h.total);
          for (const k of Object.keys(hand.parts)) hand.parts[k].push(h[k]);
        };
        if ((i + r) % 2 === 0) {
          await runOurs();
          await runHand();
        } else {
          await runHand();
          await runOurs();
        }
        decode.push(await oursDecode(f));
      }

      batch.wallMs += await batch.lag.measure(async () => {
        const s = performance.now();
        await detector.detectBatch(files);
        return performance.now() - s;
      });
      batch.images += files.length;
      handLoop.wallMs += await handLoop.lag.measure(async () => {
        const s = performance.now();
        for (const f of files) await handDetect(session, f, size);
        return performance.now() - s;
      });
      handLoop.images += files.length;
    }

    const lb = await microLetterbox(native, MICRO_RUNS);
    const pp = await microPostprocess(native, session, MICRO_RUNS);

    const oursLat = stats(ours.lat);
    const handLat = stats(hand.lat);
    const pre = stats(ours.pre);
    const inf = stats(ours.inf);
    const post = stats(ours.post);
    const dec = stats(decode);
    const sum = (a) => a.reduce((x, y) => x + y, 0);
    // Sequential images/s = images / time spent in that pipeline's own calls.
    const oursIps = (ours.lat.length / sum(ours.lat)) * 1000;
    const handIps = (hand.lat.length / sum(hand.lat)) * 1000;
    const batchIps = (batch.images / batch.wallMs) * 1000;
    const handLoopIps = (handLoop.images / handLoop.wallMs) * 1000;
    const handPre = stats(hand.parts.decodeResize.map((v, i) => v + hand.parts.tensor[i]));
    const handInf = stats(hand.parts.inference);
    const handPost = stats(hand.parts.postprocess);
    const prePostPct = (100 * (pre.p50 + post.p50)) / inf.p50;
    const prePostPctMean = (100 * (pre.mean + post.mean)) / inf.mean;

    console.log('End to end, sequential detect() one image at a time (decode -> boxes), ms');
    console.log(
      table([
        ['pipeline', 'images/s', 'p50', 'p95', 'p99', 'loop lag p99 / max'],
        [
          'yolo-trt detect(path)',
          f1(oursIps),
          f1(oursLat.p50),
          f1(oursLat.p95),
          f1(oursLat.p99),
          `${f1(ours.lag.p99Ms)} / ${f1(ours.lag.maxMs)}`,
        ],
        [
          'hand-written (sharp+ort+JS NMS)',
          f1(handIps),
          f1(handLat.p50),
          f1(handLat.p95),
          f1(handLat.p99),
          `${f1(hand.lag.p99Ms)} / ${f1(hand.lag.maxMs)}`,
        ],
        [
          'ratio ours/hand-written',
          f2(oursIps / handIps),
          f2(oursLat.p50 / handLat.p50),
          f2(oursLat.p95 / handLat.p95),
          f2(oursLat.p99 / handLat.p99),
          '',
        ],
      ]),
    );
    console.log('\nStage split, ms (p50 / p95 / p99)');
    console.log(
      table([
        ['stage', 'yolo-trt', 'hand-written'],
        ['decode (file -> RGB)', `${f1(dec.p50)} / ${f1(dec.p95)} / ${f1(dec.p99)}`, '(inside resize)'],
        [
          'preprocess (letterbox + tensor)',
          `${f2(pre.p50)} / ${f2(pre.p95)} / ${f2(pre.p99)}`,
          `${f1(handPre.p50)} / ${f1(handPre.p95)} / ${f1(handPre.p99)} (decode+resize+CHW)`,
        ],
        [
          'inference',
          `${f1(inf.p50)} / ${f1(inf.p95)} / ${f1(inf.p99)}`,
          `${f1(handInf.p50)} / ${f1(handInf.p95)} / ${f1(handInf.p99)}`,
        ],
        [
          'postprocess (NMS + scale)',
          `${f2(post.p50)} / ${f2(post.p95)} / ${f2(post.p99)}`,
          `${f2(handPost.p50)} / ${f2(handPost.p95)} / ${f2(handPost.p99)}`,
        ],
        [
          'pre+post as % of inference',
          `${f1(prePostPct)}% (p50), ${f1(prePostPctMean)}% (mean)`,
          `${f1((100 * (handPre.p50 + handPost.p50)) / handInf.p50)}% (p50, incl. decode)`,
        ],
      ]),
    );
    console.log('\nThroughput over all images (each pass right after the other)');
    console.log(
      table([
        ['pipeline', 'images/s', 'vs hand-written loop', 'loop lag p99 / max, ms'],
        [
          `yolo-trt detectBatch(${files.length}) (maxBatch ${detector.maxBatch}, concurrency ${detector.concurrency})`,
          f1(batchIps),
          f2(batchIps / handLoopIps),
          `${f1(batch.lag.p99Ms)} / ${f1(batch.lag.maxMs)}`,
        ],
        [
          'hand-written loop (await one image after another)',
          f1(handLoopIps),
          '1.00',
          `${f1(handLoop.lag.p99Ms)} / ${f1(handLoop.lag.maxMs)}`,
        ],
      ]),
    );
    console.log(`\nMicro-benchmarks (p50 / p95 over ${MICRO_RUNS} runs, ms)`);
    console.log(
      table([
        ['what', 'wall (promise)', 'native work', 'hand-written equivalent'],
        [
          'letterbox 1920x1080 -> 640x640 float32, 1 thread',
          `${f2(lb.wall.p50)} / ${f2(lb.wall.p95)}`,
          `${f2(lb.native.p50)} / ${f2(lb.native.p95)}`,
          `${f2(lb.handSharp.p50)} / ${f2(lb.handSharp.p95)} (sharp contain + CHW loop)`,
        ],
        [
          `postprocess [${pp.dims.join(',')}] -> ${pp.detections} boxes, 1 thread`,
          `${f2(pp.wall.p50)} / ${f2(pp.wall.p95)}`,
          `${f2(pp.native.p50)} / ${f2(pp.native.p95)}`,
          `${f2(pp.handJs.p50)} / ${f2(pp.handJs.p95)} (JS loop + NMS)`,
        ],
      ]),
    );
    console.log(
      "\nNotes: latencies include file read. The hand-written pipeline uses sharp's default (lanczos3) resize" +
        " and ignores EXIF orientation, so its boxes differ slightly from Ultralytics'; it runs onnxruntime on" +
        ' the main thread (see "loop lag"). The machine is shared: compare numbers within one run only.',
    );

    const report = {
      date: new Date().toISOString(),
      machine,
      model: MODEL,
      images: files.length,
      runs: RUNS,
      warmup: WARMUP,
      detector: detector.describe(),
      ours: {
        sequential: {
          imagesPerSec: oursIps,
          latencyMs: oursLat,
          loopLagMs: { p99: ours.lag.p99Ms, max: ours.lag.maxMs },
        },
        stagesMs: { decode: dec, preprocess: pre, inference: inf, postprocess: post },
        prePostPercentOfInference: { p50: prePostPct, mean: prePostPctMean },
        batch: {
          imagesPerSec: batchIps,
          images: batch.images,
          wallMs: batch.wallMs,
          loopLagMs: { p99: batch.lag.p99Ms, max: batch.lag.maxMs },
        },
      },
      handWritten: {
        sequential: {
          imagesPerSec: handIps,
          latencyMs: handLat,
          loopLagMs: { p99: hand.lag.p99Ms, max: hand.lag.maxMs },
        },
        stagesMs: { decodeResizeAndTensor: handPre, inference: handInf, postprocess: handPost },
        loop: {
          imagesPerSec: handLoopIps,
          images: handLoop.images,
          wallMs: handLoop.wallMs,
          loopLagMs: { p99: handLoop.lag.p99Ms, max: handLoop.lag.maxMs },
        },
      },
      ratios: {
        sequentialImagesPerSec: oursIps / handIps,
        batchImagesPerSecVsHandLoop: batchIps / handLoopIps,
        latencyP50: oursLat.p50 / handLat.p50,
      },
      micro: {
        letterbox1920x1080To640OneThreadMs: {
          wall: lb.wall,
          native: lb.native,
          handWrittenSharp: lb.handSharp,
        },
        postprocessOneOutputMs: {
          dims: pp.dims,
          detections: pp.detections,
          wall: pp.wall,
          native: pp.native,
          handWrittenJs: pp.handJs,
        },
      },
    };
    const out = path.resolve(args.out);
    await mkdir(path.dirname(out), { recursive: true });
    await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nJSON written to ${path.relative(process.cwd(), out) || out}`);
  } finally {
    await detector.dispose();
    await session.release?.();
  }
}

await main();
