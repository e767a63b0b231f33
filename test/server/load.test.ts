// Bounded load tests with autocannon over loopback, on the real model: no 5xx below capacity, 503s
// (not crashes, not unbounded queues) above it, and a model swap under load with no failed request.
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import autocannon, { type AutocannonResult } from 'autocannon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../dist/index.js';
import { addVersion, imagePath, listen, makeRepository, modelPath, removeDir, sleep } from './helpers.js';

const MAX_QUEUE = 6;
let app: FastifyInstance;
let base: string;
let repo: string;
const bus = readFileSync(imagePath('bus.jpg'));

const counts = (r: AutocannonResult) =>
  Object.fromEntries(Object.entries(r.statusCodeStats).map(([code, s]) => [code, s.count]));

beforeAll(async () => {
  repo = await makeRepository(modelPath(), { swappable: [1] });
  app = await createServer({
    models: [{ name: 'yolo11n', path: modelPath() }],
    modelRepository: repo,
    processMetrics: false,
    defaults: { batching: { maxQueueSize: MAX_QUEUE } },
  });
  base = await listen(app);
});

afterAll(async () => {
  await app?.close();
  await removeDir(repo);
});

describe('load', () => {
  it('below capacity: every request succeeds', async () => {
    const result = await autocannon({
      url: `${base}/v2/models/yolo11n/detect`,
      method: 'POST',
      headers: { 'content-type': 'image/jpeg' },
      body: bus,
      connections: 2,
      amount: 12,
      timeout: 30,
    });
    expect({ errors: result.errors, timeouts: result.timeouts, statuses: counts(result) }).toEqual({
      errors: 0,
      timeouts: 0,
      statuses: { '200': 12 },
    });
  });

  it('above capacity: the queue stays bounded and the excess gets 503 + Retry-After, no other error', async () => {
    const instance = app.yolo.registry.serving('yolo11n')[0]!;
    let maxPending = 0;
    const sampler = setInterval(() => (maxPending = Math.max(maxPending, instance.pending)), 5);
    const rssBefore = process.memoryUsage().rss;
    let retryAfterSeen = 0;
    const result = await autocannon({
      url: base,
      connections: 32,
      amount: 96,
      timeout: 30,
      requests: [
        {
          method: 'POST',
          path: '/v2/models/yolo11n/detect',
          headers: { 'content-type': 'image/jpeg' },
          body: bus,
          onResponse: (status, _body, _ctx, headers) => {
            if (status === 503 && Number(headers['retry-after']) >= 1) retryAfterSeen++;
          },
        },
      ],
    });
    clearInterval(sampler);
    const statuses = counts(result);
    expect(result.errors).toBe(0);
    expect(Object.keys(statuses).sort()).toEqual(['200', '503']);
    expect(statuses['503']).toBeGreaterThan(0);
    expect(statuses['200']).toBeGreaterThan(0);
    expect(retryAfterSeen).toBe(statuses['503']);
    // Queued + running never exceeds the queue bound plus what the batcher lets run.
    const b = instance.batching;
    expect(maxPending).toBeLessThanOrEqual(MAX_QUEUE + b.resolvedInflight * b.resolvedMaxBatchSize);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(512 * 1024 * 1024);
    expect((await fetch(`${base}/v2/health/ready`)).status).toBe(200);
    const after = await fetch(`${base}/v2/models/yolo11n/detect`, {
      method: 'POST',
      body: bus,
      headers: { 'content-type': 'image/jpeg' },
    });
    expect(after.status).toBe(200);
  });

  it('a model swap during load fails no request', async () => {
    const versions: Record<string, number> = {};
    const load = autocannon({
      url: base,
      connections: 3,
      amount: 10_000,
      duration: 60,
      timeout: 30,
      requests: [
        {
          method: 'POST',
          path: '/v2/models/swappable/detect',
          headers: { 'content-type': 'image/jpeg' },
          body: bus,
          onResponse: (status, _body, _ctx, headers) => {
            const v = `${status}:v${headers['x-model-version']}`;
            versions[v] = (versions[v] ?? 0) + 1;
          },
        },
      ],
    });
    const waitFor = async (key: string, atLeast: number) => {
      for (let i = 0; i < 600 && (versions[key] ?? 0) < atLeast; i++) await sleep(50);
    };
    await waitFor('200:v1', 2);
    await addVersion(repo, 'swappable', 2, modelPath());
    const res = await fetch(`${base}/v2/repository/models/swappable/load`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ name: 'swappable', versions: ['2'] });
    // Keep the load on after the switch, while version 1 drains and is disposed.
    await waitFor('200:v2', 4);
    load.stop();
    const result = await load;
    await app.yolo.registry.settled();
    expect({ errors: result.errors, timeouts: result.timeouts, non2xx: result.non2xx }).toEqual({
      errors: 0,
      timeouts: 0,
      non2xx: 0,
    });
    expect(versions['200:v1']).toBeGreaterThan(0);
    expect(versions['200:v2']).toBeGreaterThan(0);
    expect(Object.keys(versions).sort()).toEqual(['200:v1', '200:v2']);
  });
});
