// A real Prometheus (Debian's package, loopback only) scraping a running server: the server is fed a
// drifted stream, and Prometheus evaluates the shipped YoloTrtDriftAlert expression and fires it. The
// rule's `for:` is shortened to 0s here (the shipped 10m would make the test wait 10 minutes); the
// expression, labels and annotations are the shipped ones.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildProfile, extractFeatures, fileSha256, saveProfile } from '../../dist/index.js';
import { fakeServer, listen, modelPath, sleep } from '../server/helpers.js';

const RULES = fileURLToPath(new URL('../../deploy/prometheus/alerts.yml', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** What the fake detector answers for a body of `width` bytes starting with byte `first`. */
function fakeResult(width: number, first: number) {
  return {
    width,
    height: 1,
    speed: { preprocess: 0, inference: 0, postprocess: 0 },
    detections: [
      { box: [1, 2, 3, 4] as [number, number, number, number], conf: first / 255, cls: 0, name: 'person' },
    ],
  };
}

let dir: string;
let app: FastifyInstance;
let prometheus: ChildProcess | undefined;
let promUrl: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'yolo-trt-prom-'));
  // Reference: bodies of 100..159 bytes, first byte 200..229.
  const reference = Array.from({ length: 60 }, (_, i) =>
    extractFeatures(fakeResult(100 + i, 200 + (i % 30))),
  );
  const profile = path.join(dir, 'profile.json');
  await saveProfile(
    profile,
    buildProfile(reference, { file: 'm', sha256: await fileSha256(modelPath()), names: ['person'] }),
  );
  ({ app } = await fakeServer({ drift: { references: { fake: profile }, window: 40 } }));
  const base = await listen(app);

  const shipped = await readFile(RULES, 'utf8');
  expect(shipped).toMatch(/alert: YoloTrtDriftAlert\n\s+#[^\n]*\n\s+#[^\n]*\n\s+expr: [^\n]+\n\s+for: 10m/);
  await writeFile(path.join(dir, 'alerts.yml'), shipped.replace(/for: \d+m/g, 'for: 0s'));
  await writeFile(
    path.join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'rule_files: [alerts.yml]',
      'scrape_configs:',
      `  - job_name: yolo-trt`,
      `    static_configs: [{ targets: ['${base.replace('http://', '')}'] }]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prometheus = spawn(
    'prometheus',
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: 'ignore' },
  );
}, 60_000);

afterAll(async () => {
  prometheus?.kill('SIGTERM');
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

async function firing(): Promise<{ labels: Record<string, string>; state: string }[]> {
  try {
    const r = await fetch(`${promUrl}/api/v1/alerts`);
    const body = (await r.json()) as {
      data: { alerts: { labels: Record<string, string>; state: string }[] };
    };
    return body.data.alerts.filter((a) => a.labels.alertname === 'YoloTrtDriftAlert');
  } catch {
    return []; // not up yet
  }
}

/** yolo_trt_drift_alert{model="fake"} as Prometheus last scraped it, or undefined. */
async function driftAlertValue(): Promise<string | undefined> {
  try {
    const r = await fetch(
      `${promUrl}/api/v1/query?query=${encodeURIComponent('yolo_trt_drift_alert{model="fake"}')}`,
    );
    const body = (await r.json()) as { data: { result: { value: [number, string] }[] } };
    return body.data.result[0]?.value[1];
  } catch {
    return undefined;
  }
}

describe('Prometheus against a drifting server', () => {
  it('fires YoloTrtDriftAlert once the stream drifts, not before', async () => {
    const post = (width: number, first: number) =>
      app.inject({
        method: 'POST',
        url: '/v2/models/fake/detect',
        headers: { 'content-type': 'application/octet-stream' },
        payload: Buffer.alloc(width, first),
      });
    // Same distribution as the reference first: no alert.
    for (let i = 0; i < 40; i++) await post(100 + ((i * 7) % 60), 200 + (i % 30));
    // Wait until Prometheus has scraped the gauge (0: no alert) and evaluated the rules on it.
    const scraped = Date.now() + 30_000;
    while ((await driftAlertValue()) !== '0' && Date.now() < scraped) await sleep(500);
    expect(await driftAlertValue()).toBe('0');
    await sleep(2500);
    expect(await firing()).toEqual([]);
    // Then a drifted stream: much wider images, lower confidence.
    for (let i = 0; i < 40; i++) await post(400 + i, 50 + (i % 30));
    const deadline = Date.now() + 30_000;
    let alerts = await firing();
    while (!alerts.some((a) => a.state === 'firing') && Date.now() < deadline) {
      await sleep(500);
      alerts = await firing();
    }
    expect(alerts).toEqual([
      expect.objectContaining({
        state: 'firing',
        labels: expect.objectContaining({ model: 'fake', severity: 'warning' }),
      }),
    ]);
  }, 90_000);
});
