#!/usr/bin/env node
/**
 * HTTP tier benchmark (tier 3 of ../shared/docs/ANCHORS.md): requests/s and p50/p95/p99 of
 * `POST /v2/models/{m}/detect` with one JPEG, at concurrency 1, 8 and 32, with dynamic batching on and
 * off, next to in-process `detector.detect()` at the same concurrency in the same run, so the server's
 * own overhead is the difference.
 *
 *   node scripts/bench/http.mjs [--model PATH] [--image PATH] [--concurrency 1,8,32]
 *                               [--duration S] [--warmup S] [--rounds R] [--overhead-duration S]
 *                               [--tables latency,overload] [--overload-duration S] [--out FILE]
 *
 * Method: closed loop, C clients each sending its next request when the previous one answered, over
 * keep-alive loopback connections (node:http). Each server runs as a fresh `yolo-trt serve` process
 * (the CLI users run), the clients in this process. Each row gets --duration seconds in total, split
 * over --rounds rounds that visit every tier and concurrency in turn, so background load falls on all
 * of them alike; warm-up seconds before each piece are excluded. Inference noise (tens of ms on a
 * shared machine) hides a sub-millisecond overhead, so a second table times the server alone with an
 * instant detector. A third table offers more than the server can serve (./overload.mjs): open loop at
 * 2x/4x/8x capacity and closed loop at 64/128/256 clients. `--tables overload` runs that one alone.
 * A script, not a test: it asserts nothing. Requires `npm run build`.
 */
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Detector, createServer } from '../../dist/index.js';
import { DEFAULT_IMAGE, DEFAULT_MODEL, instantDetector, percentile, startServe } from './common.mjs';
import { measure503Cost, measureBare503, overloadTable, runOverload } from './overload.mjs';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: DEFAULT_MODEL },
    image: { type: 'string', default: DEFAULT_IMAGE },
    concurrency: { type: 'string', default: '1,8,32' },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '2' },
    'overhead-duration': { type: 'string', default: '3' },
    tables: { type: 'string', default: 'latency,overload' },
    'overload-duration': { type: 'string', default: '10' },
    out: { type: 'string', default: '.bench/http.json' },
  },
});
const CONCURRENCY = args.concurrency.split(',').map(Number);
const DURATION_MS = Number(args.duration) * 1000;
const WARMUP_MS = Number(args.warmup) * 1000;
const ROUNDS = Number(args.rounds);
const OVERHEAD_MS = Number(args['overhead-duration']) * 1000;
if (
  CONCURRENCY.some((c) => !Number.isInteger(c) || c < 1) ||
  !(DURATION_MS > 0) ||
  !(WARMUP_MS >= 0) ||
  !Number.isInteger(ROUNDS) ||
  ROUNDS < 1
) {
  throw new Error('--concurrency must be positive integers, --duration > 0, --warmup >= 0, --rounds >= 1');
}
const MODEL = path.resolve(args.model);
const IMAGE = await readFile(path.resolve(args.image));
const TABLES = new Set(args.tables.split(','));
if ([...TABLES].some((t) => t !== 'latency' && t !== 'overload')) {
  throw new Error('--tables takes latency and/or overload');
}

/** The overload table (./overload.mjs), printed; its result goes into the JSON. */
async function overloadRows() {
  if (!TABLES.has('overload')) return undefined;
  process.stderr.write('overload table: a fresh server with the default queue (64)\n');
  const result = await runOverload({
    model: MODEL,
    image: IMAGE,
    warmupMs: WARMUP_MS,
    durationMs: Number(args['overload-duration']) * 1000,
    progress: (l) => process.stderr.write(`${l}\n`),
  });
  console.log(
    `\nOverload: ${path.basename(MODEL)} on ${path.basename(args.image)}, default queue (64 requests), --log-level warn; ` +
      `capacity (closed loop, c=8) ${result.capacity.toFixed(1)} req/s at ${result.cpuPerAcceptedMs.toFixed(1)} ms server CPU per request; ` +
      `${args['overload-duration']} s per row after ${args.warmup} s warm-up; load average ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}\n`,
  );
  console.log(overloadTable(result));
  // The cost of one 503 measured alone (client in a child process), next to a bare Fastify 503.
  const alone = {
    model: MODEL,
    image: IMAGE,
    seconds: Number(args['overload-duration']) / 2,
    concurrency: 64,
  };
  result.cost503 = await measure503Cost(alone);
  result.cost503Expect = await measure503Cost({ ...alone, expectContinue: true });
  result.cost503Small = await measure503Cost({ ...alone, image: IMAGE.subarray(0, 1024) });
  result.bare503 = await measureBare503(alone);
  console.log(
    `\nA 503 alone (c=64 keep-alive clients in a child process, each request carrying the ${IMAGE.length}-byte image, ` +
      `${alone.seconds} s): ${result.cost503.serverCpuPer503Us.toFixed(0)} us server CPU per 503 ` +
      `(${result.cost503.rejectedPerSecond.toFixed(0)} 503/s, ${result.cost503.logLines} log lines); ` +
      `a bare Fastify route answering 503 under the same load: ${result.bare503.serverCpuPer503Us.toFixed(0)} us ` +
      `(${result.bare503.rejectedPerSecond.toFixed(0)} 503/s)`,
  );
  console.log(
    `The same client sending Expect: 100-continue (refused before its body, connection closed): ` +
      `${result.cost503Expect.serverCpuPer503Us.toFixed(0)} us per 503 (${result.cost503Expect.rejectedPerSecond.toFixed(0)} 503/s); ` +
      `with a 1 KiB body instead of the image: ${result.cost503Small.serverCpuPer503Us.toFixed(0)} us per 503 ` +
      `(${result.cost503Small.rejectedPerSecond.toFixed(0)} 503/s)`,
  );
  return result;
}

if (!TABLES.has('latency')) {
  const overload = await overloadRows();
  await mkdir(path.dirname(path.resolve(args.out)), { recursive: true });
  await writeFile(
    args.out,
    JSON.stringify(
      { date: new Date().toISOString(), model: MODEL, image: path.resolve(args.image), overload },
      null,
      2,
    ),
  );
  console.log(`\nwrote ${args.out}`);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------------
// statistics

function summarize(latencies, measuredMs, failures) {
  const s = [...latencies].sort((a, b) => a - b);
  return {
    requests: s.length,
    failures,
    rps: s.length / (measuredMs / 1000),
    mean: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length),
    p50: percentile(s, 50),
    p95: percentile(s, 95),
    p99: percentile(s, 99),
  };
}

/**
 * Runs `once()` from `concurrency` loops for warm-up + `durationMs`. Calls that complete inside the
 * measured window count (their latency, and toward req/s); no call starts after the deadline.
 */
async function closedLoop(concurrency, durationMs, once) {
  const start = performance.now();
  const measureFrom = start + WARMUP_MS;
  const deadline = measureFrom + durationMs;
  const latencies = [];
  let failures = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        const ok = await once().then(
          () => true,
          () => false,
        );
        const t1 = performance.now();
        if (t1 >= measureFrom && t1 <= deadline) {
          if (ok) latencies.push(t1 - t0);
          else failures++;
        }
      }
    }),
  );
  return { latencies, failures, ms: durationMs };
}

// ---------------------------------------------------------------------------------------------------
// tiers

/** Starts `yolo-trt serve` on a free port with the given batching; resolves to its origin and process. */
async function startServer(batching) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'yolo-trt-bench-'));
  const config = path.join(dir, 'serve.json');
  // A queue deep enough that the bench measures latency, not load shedding.
  await writeFile(config, JSON.stringify({ defaults: { batching: { ...batching, maxQueueSize: 4096 } } }));
  const { child, origin } = await startServe(MODEL, config);
  return { origin, child, dir };
}

function post(agent, url) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'image/jpeg', 'content-length': IMAGE.length } },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(IMAGE);
  });
}

/**
 * The server's own cost without inference: the same requests against a detector that answers at once
 * with bus.jpg's detections, server and clients in this process. What is left is loopback HTTP, the
 * body, routing, the batcher, JSON and the client: what the server adds over in-process detect().
 */
async function serverOverhead(model, canned) {
  const instant = instantDetector(model, canned);
  const rows = [];
  for (const batching of ['on', 'off']) {
    const app = await createServer({
      models: [{ name: 'm', path: MODEL }],
      processMetrics: false,
      demoPage: false,
      detectorFactory: async () => instant,
      defaults: { batching: { enabled: batching === 'on', maxQueueSize: 4096 } },
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${app.server.address().port}/v2/models/m/detect`;
    for (const c of CONCURRENCY) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: c });
      const r = await closedLoop(c, OVERHEAD_MS, () => post(agent, url));
      agent.destroy();
      progress(`overhead-${batching}`, c, 1, r);
      rows.push({ batching, concurrency: c, ...summarize(r.latencies, r.ms, r.failures) });
    }
    await app.close();
  }
  return rows;
}

function progress(tier, c, round, r) {
  const s = summarize(r.latencies, r.ms, r.failures);
  process.stderr.write(
    `  round ${round} ${tier} c=${c}: ${s.rps.toFixed(1)} req/s, p50 ${s.p50.toFixed(1)} ms\n`,
  );
}

// ---------------------------------------------------------------------------------------------------
// run

const cpu = os.cpus();
const hardware = {
  cpu: cpu[0]?.model ?? 'unknown',
  cores: cpu.length,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${os.platform()} ${os.release()}`,
};
process.stderr.write(
  `HTTP bench: ${path.basename(MODEL)}, ${path.basename(args.image)}, ${hardware.cpu} x${hardware.cores}\n`,
);
// Every tier runs at every concurrency in each round, back to back, and rounds repeat: load from
// anything else on the machine then falls on all tiers alike instead of on whichever ran last.
const detector = await Detector.create({ model: MODEL });
await detector.detect(IMAGE); // first-call setup outside every measurement
const servers = { on: await startServer({ enabled: true }), off: await startServer({ enabled: false }) };
const configs = {};
const tiers = [
  { key: 'in-process', tier: 'in-process', batching: '-', make: () => () => detector.detect(IMAGE) },
  ...['on', 'off'].map((b) => ({
    key: `http-${b}`,
    tier: 'http',
    batching: b,
    make: (agent) => {
      const url = `${servers[b].origin}/v2/models/m/detect`;
      return () => post(agent, url);
    },
  })),
];
const pooled = new Map();
try {
  for (const b of ['on', 'off'])
    configs[b] = await (await fetch(`${servers[b].origin}/v2/models/m/config`)).json();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const c of CONCURRENCY) {
      for (const t of tiers) {
        const agent = new http.Agent({ keepAlive: true, maxSockets: c });
        const r = await closedLoop(c, DURATION_MS / ROUNDS, t.make(agent));
        agent.destroy();
        progress(t.key, c, round, r);
        const key = `${t.key}|${c}`;
        const p = pooled.get(key) ?? {
          tier: t.tier,
          batching: t.batching,
          concurrency: c,
          latencies: [],
          failures: 0,
          ms: 0,
        };
        p.latencies.push(...r.latencies);
        p.failures += r.failures;
        p.ms += r.ms;
        pooled.set(key, p);
      }
    }
  }
} finally {
  for (const s of Object.values(servers)) {
    s.child.kill('SIGTERM');
    await once(s.child, 'exit');
    await rm(s.dir, { recursive: true, force: true });
  }
}
const inproc = { backend: detector.backend, workers: detector.concurrency, maxBatch: detector.maxBatch };
const overhead = await serverOverhead(detector.model, await detector.detect(IMAGE));
await detector.dispose();
const rows = [...pooled.values()]
  .map((p) => ({
    tier: p.tier,
    batching: p.batching,
    concurrency: p.concurrency,
    ...summarize(p.latencies, p.ms, p.failures),
  }))
  .sort((a, b) =>
    a.tier === b.tier
      ? a.batching === b.batching
        ? a.concurrency - b.concurrency
        : a.batching < b.batching
          ? 1
          : -1
      : a.tier === 'in-process'
        ? -1
        : 1,
  );
const loadAverage = os.loadavg();

const base = new Map(rows.filter((r) => r.tier === 'in-process').map((r) => [r.concurrency, r]));
const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const header = [
  'tier',
  'batching',
  'conc',
  'req/s',
  'p50 ms',
  'p95 ms',
  'p99 ms',
  'p50 vs in-process',
  'failed',
];
const table = rows.map((r) => {
  const b = base.get(r.concurrency);
  const delta =
    r.tier === 'http' && b ? `${r.p50 - b.p50 >= 0 ? '+' : ''}${(r.p50 - b.p50).toFixed(1)} ms` : '';
  return [
    r.tier,
    r.batching,
    String(r.concurrency),
    f(r.rps),
    f(r.p50),
    f(r.p95),
    f(r.p99),
    delta,
    String(r.failures),
  ];
});
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(
  `\n${path.basename(MODEL)} on ${path.basename(args.image)}; backend ${inproc.backend}, ${inproc.workers} worker(s), ` +
    `max batch ${inproc.maxBatch}; server batch size ${configs.on?.max_batch_size} (on) / 1 (off); ` +
    `${hardware.cpu}, ${hardware.cores} cores, Node ${hardware.node}; ${args.duration} s per row in ${ROUNDS} rounds, ` +
    `each after ${args.warmup} s warm-up; load average at the end ${loadAverage.map((x) => x.toFixed(2)).join(' ')}\n`,
);
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const row of table) console.log(line(row));

const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '-');
const oHeader = ['batching', 'conc', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms'];
const oTable = overhead.map((r) => [
  r.batching,
  String(r.concurrency),
  f(r.rps),
  f2(r.p50),
  f2(r.p95),
  f2(r.p99),
]);
const oWidths = oHeader.map((h, i) => Math.max(h.length, ...oTable.map((row) => row[i].length)));
const oLine = (cells) => `| ${cells.map((c, i) => c.padEnd(oWidths[i])).join(' | ')} |`;
console.log(
  `\nServer overhead: the same HTTP requests answered by an instant detector (no inference), server and clients in one process; ${args['overhead-duration']} s per row\n`,
);
console.log(oLine(oHeader));
console.log(`|${oWidths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const row of oTable) console.log(oLine(row));

const overload = await overloadRows();

await mkdir(path.dirname(path.resolve(args.out)), { recursive: true });
await writeFile(
  args.out,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      hardware,
      model: MODEL,
      image: path.resolve(args.image),
      durationS: Number(args.duration),
      warmupS: Number(args.warmup),
      backend: inproc.backend,
      workers: inproc.workers,
      rounds: ROUNDS,
      loadAverageAtEnd: loadAverage,
      serverConfig: { on: configs.on?.dynamic_batching, off: configs.off?.dynamic_batching },
      rows,
      serverOverhead: overhead,
      overload,
    },
    null,
    2,
  ),
);
console.log(`\nwrote ${args.out}`);
