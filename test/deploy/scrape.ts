// One real scrape for every deploy/ cross-check: the metric names a server exports with drift
// monitoring and capture on and with process metrics, plus the GPU gauges a server adds where its GPU
// reader finds a device (this machine has none, so a ServerMetrics with a reader that reports one).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildProfile, extractFeatures, fileSha256, saveProfile } from '../../dist/index.js';
import { ServerMetrics } from '../../dist/server/metrics.js';
import { fakeServer, modelPath } from '../server/helpers.js';

/** Candidate (shadow / canary) metrics: the dashboard charts every one, the server exports every one. */
export const CANDIDATE_METRICS: readonly string[] = [
  'yolo_trt_candidate_info',
  'yolo_trt_candidate_requests_total',
  'yolo_trt_candidate_errors_total',
  'yolo_trt_candidate_dropped_total',
  'yolo_trt_candidate_f1',
  'yolo_trt_candidate_conf_delta',
  'yolo_trt_candidate_count_delta',
  'yolo_trt_candidate_latency_ratio',
  'yolo_trt_candidate_rollbacks_total',
];

export interface Scrape {
  /** Names as a query uses them: histograms as `<name>_bucket`, `_sum` and `_count` (and the base name). */
  names: Set<string>;
  /** The subset only a server with a GPU exports. */
  gpuOnly: Set<string>;
  /** Names whose values only grow: counters, and the series of histograms. */
  counters: Set<string>;
  /** /metrics of the fake server, as text. */
  text: string;
}

/** Query names of a /metrics text (`# TYPE` lines; a histogram gives its three series names). */
export function typedNames(text: string): string[] {
  return [...text.matchAll(/^# TYPE (\S+) (\w+)$/gm)].flatMap((m) =>
    m[2] === 'histogram' ? [m[1]!, `${m[1]}_bucket`, `${m[1]}_sum`, `${m[1]}_count`] : [m[1]!],
  );
}

let cached: Promise<Scrape> | undefined;

/** The scrape (made once per test file). */
export function realScrape(): Promise<Scrape> {
  return (cached ??= makeScrape());
}

async function makeScrape(): Promise<Scrape> {
  const dir = await mkdtemp(path.join(tmpdir(), 'yolo-trt-deploy-'));
  try {
    const features = Array.from({ length: 30 }, (_, i) =>
      extractFeatures({
        width: 100 + i,
        height: 50,
        speed: { preprocess: 0, inference: 0, postprocess: 0 },
        detections: [{ box: [1, 2, 3, 4], conf: 0.5, cls: 0, name: 'person' }],
      }),
    );
    const profile = path.join(dir, 'profile.json');
    await saveProfile(
      profile,
      buildProfile(features, { file: 'm', sha256: await fileSha256(modelPath()), names: ['person'] }),
    );
    const { app } = await fakeServer({
      processMetrics: true,
      drift: { references: { fake: profile } },
      capture: { fake: { dir: path.join(dir, 'capture'), rate: 1 } },
    });
    let text: string;
    try {
      await app.inject({
        method: 'POST',
        url: '/v2/models/fake/detect',
        headers: { 'content-type': 'application/octet-stream' },
        payload: Buffer.alloc(120, 200),
      });
      text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    } finally {
      await app.close();
    }
    const gpu = new ServerMetrics({ processMetrics: false });
    await gpu.enableGpuMetrics(async () => ({
      source: 'nvml',
      reason: null,
      devices: [
        {
          index: 0,
          uuid: 'GPU-0',
          name: 'Fake',
          utilization: 0.5,
          memoryUsedBytes: 1,
          memoryTotalBytes: 2,
          powerWatts: 3,
          temperatureC: 60,
        },
      ],
    }));
    const plain = new Set(typedNames(await new ServerMetrics({ processMetrics: false }).render()));
    const gpuOnly = new Set(typedNames(await gpu.render()).filter((n) => !plain.has(n)));
    const counters = [...text.matchAll(/^# TYPE (\S+) (counter|histogram)$/gm)].flatMap((m) =>
      m[2] === 'counter' ? [m[1]!] : [`${m[1]}_bucket`, `${m[1]}_sum`, `${m[1]}_count`],
    );
    return { names: new Set([...typedNames(text), ...gpuOnly]), gpuOnly, counters: new Set(counters), text };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Metric names in a PromQL expression (ours, Triton's, prom-client's process and Node.js ones). */
export function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:nv|yolo_trt|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1]!);
}

/** `used` names the scrape lacks. */
export function missingNames(used: Iterable<string>, scrape: Scrape): string[] {
  return [...new Set(used)].filter((n) => !scrape.names.has(n)).sort();
}
