#!/usr/bin/env node
/**
 * gRPC next to HTTP: what each transport adds per request, measured with an instant detector (it
 * answers at once with bus.jpg's real detections, so no inference time hides the overhead). One server
 * (createServer with gRPC on), batching on, clients in this process:
 *
 *   grpc ModelInfer         BYTES image in raw_input_contents, the 4 outputs as raw contents (grpc-js;
 *                           the request encoded once, like the HTTP clients' prebuilt bodies)
 *   http infer (binary)     the same request over HTTP/1.1 with the binary tensor extension (node:http)
 *   http detect             the one-call route: JPEG body, JSON result (node:http)
 *
 *   node scripts/bench/grpc.mjs [--concurrency 1,8,32] [--duration S] [--warmup S] [--out FILE]
 *
 * Closed loop: C clients each send the next request when the previous one answered (gRPC: one channel,
 * C concurrent calls multiplexed on HTTP/2; HTTP: C keep-alive connections). Tiers alternate per
 * concurrency in 2 rounds so background load falls on all alike. Prints a table and writes JSON. A
 * script, not a test: it asserts nothing. Requires `npm run build`.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { Detector, createServer } from '../../dist/index.js';
import { codec, serviceDefinition } from '../../dist/server/grpc/proto.js';
import { writeBytesElements } from '../../dist/server/kserve/binary.js';
import { DEFAULT_IMAGE, DEFAULT_MODEL, instantDetector, percentile } from './common.mjs';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: DEFAULT_MODEL },
    image: { type: 'string', default: DEFAULT_IMAGE },
    concurrency: { type: 'string', default: '1,8,32' },
    duration: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '0.5' },
    out: { type: 'string', default: '.bench/grpc.json' },
  },
});
const CONCURRENCY = args.concurrency.split(',').map(Number);
const DURATION_MS = Number(args.duration) * 1000;
const WARMUP_MS = Number(args.warmup) * 1000;
if (CONCURRENCY.some((c) => !Number.isInteger(c) || c < 1) || !(DURATION_MS > 0) || !(WARMUP_MS >= 0)) {
  throw new Error('--concurrency must be positive integers, --duration > 0, --warmup >= 0');
}
const ROUNDS = 2;
const MODEL = path.resolve(args.model);
const IMAGE = await readFile(path.resolve(args.image));

async function closedLoop(concurrency, durationMs, once) {
  const measureFrom = performance.now() + WARMUP_MS;
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
  return { latencies, failures };
}

// The instant detector answers with what the real model finds in the image.
const real = await Detector.create({ model: MODEL });
const canned = await real.detect(IMAGE);
await real.dispose();
const instant = instantDetector(real.model, canned);
const app = await createServer({
  models: [{ name: 'm', path: MODEL }],
  processMetrics: false,
  demoPage: false,
  detectorFactory: async () => instant,
  defaults: { batching: { enabled: true, maxQueueSize: 4096 } },
  grpc: { port: 0 },
});
await app.listen({ port: 0, host: '127.0.0.1' });
const origin = `http://127.0.0.1:${app.server.address().port}`;

// --- clients

const OUTPUTS = ['num_dets', 'det_boxes', 'det_scores', 'det_classes'];
const Client = grpc.makeGenericClientConstructor(serviceDefinition(), 'GRPCInferenceService');
const grpcClient = new Client(`127.0.0.1:${app.yolo.grpc.port}`, grpc.credentials.createInsecure());
const grpcRequest = {
  model_name: 'm',
  inputs: [{ name: 'image_bytes', datatype: 'BYTES', shape: [1] }],
  outputs: OUTPUTS.map((name) => ({ name })),
  raw_input_contents: [writeBytesElements([IMAGE])],
};
// Like the HTTP clients (a prebuilt body, the answer read but not parsed), the request is encoded once
// and the answer's bytes are not decoded: the rows compare transports and the server, not client codecs.
const grpcRequestBytes = codec('ModelInferRequest').encode(grpcRequest);
const identity = (b) => b;
const grpcInfer = () =>
  new Promise((resolve, reject) =>
    grpcClient.makeUnaryRequest(
      '/inference.GRPCInferenceService/ModelInfer',
      identity,
      identity,
      grpcRequestBytes,
      (err, res) => (err ? reject(err) : resolve(res)),
    ),
  );

const inferHeader = Buffer.from(
  JSON.stringify({
    inputs: [
      {
        name: 'image_bytes',
        datatype: 'BYTES',
        shape: [1],
        parameters: { binary_data_size: IMAGE.length + 4 },
      },
    ],
    outputs: OUTPUTS.map((name) => ({ name, parameters: { binary_data: true } })),
  }),
);
const inferBody = Buffer.concat([inferHeader, writeBytesElements([IMAGE])]);

function post(agent, url, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': body.length } },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const tiers = [
  { transport: 'grpc ModelInfer', make: () => grpcInfer },
  {
    transport: 'http infer (binary)',
    make: (agent) => () =>
      post(
        agent,
        `${origin}/v2/models/m/infer`,
        { 'inference-header-content-length': inferHeader.length },
        inferBody,
      ),
  },
  {
    transport: 'http detect',
    make: (agent) => () =>
      post(agent, `${origin}/v2/models/m/detect`, { 'content-type': 'image/jpeg' }, IMAGE),
  },
];

// --- run

const cpu = os.cpus();
const hardware = { cpu: cpu[0]?.model ?? 'unknown', cores: cpu.length, node: process.version };
process.stderr.write(
  `gRPC vs HTTP, instant detector, ${path.basename(args.image)}, ${hardware.cpu} x${hardware.cores}\n`,
);
const samples = new Map();
for (let round = 1; round <= ROUNDS; round++) {
  for (const c of CONCURRENCY) {
    for (const tier of tiers) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: c });
      const r = await closedLoop(c, DURATION_MS / ROUNDS, tier.make(agent));
      agent.destroy();
      const key = `${tier.transport}|${c}`;
      const s = samples.get(key) ?? { latencies: [], failures: 0 };
      s.latencies.push(...r.latencies);
      s.failures += r.failures;
      samples.set(key, s);
      process.stderr.write(`  round ${round} ${tier.transport} c=${c}: ${r.latencies.length} requests\n`);
    }
  }
}
grpcClient.close();
await app.close();

const rows = [];
for (const tier of tiers) {
  for (const c of CONCURRENCY) {
    const s = samples.get(`${tier.transport}|${c}`);
    const sorted = [...s.latencies].sort((a, b) => a - b);
    rows.push({
      transport: tier.transport,
      concurrency: c,
      requests: sorted.length,
      failures: s.failures,
      rps: sorted.length / (DURATION_MS / 1000),
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      p99: percentile(sorted, 99),
    });
  }
}
const header = ['transport', 'conc', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'failed'];
const table = rows.map((r) => [
  r.transport,
  String(r.concurrency),
  r.rps.toFixed(1),
  r.p50.toFixed(3),
  r.p95.toFixed(3),
  r.p99.toFixed(3),
  String(r.failures),
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const row of table) console.log(line(row));
await mkdir(path.dirname(path.resolve(args.out)), { recursive: true });
await writeFile(
  path.resolve(args.out),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      hardware,
      image: path.basename(args.image),
      durationS: DURATION_MS / 1000,
      rows,
    },
    null,
    2,
  ),
);
console.log(`\nwrote ${args.out}`);
