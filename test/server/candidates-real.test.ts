// A real candidate on the CPU backend: yolo11n served from its file with the int8 copy of the same
// model as its shadow candidate (a file model names its candidate by file). The int8 model finds the
// same objects within about a pixel, so the agreement measured through the server must be high.
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../dist/index.js';
import { imagePath, listen, modelPath } from './helpers.js';

let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  app = await createServer({
    models: [
      {
        name: 'yolo11n',
        path: modelPath(),
        config: {
          cpu: { workers: 1 },
          candidate: {
            version: '2',
            mode: 'shadow',
            weight: 1,
            maxInflight: 4,
            window: 500,
            rollback: { minF1: 0.8, maxErrorRate: 0.05, maxLatencyRatio: 3, minImages: 50 },
            path: modelPath('yolo11n-dynint8.onnx'),
          },
        },
      },
    ],
    processMetrics: false,
  });
  base = await listen(app);
}, 120_000);

afterAll(async () => {
  await app?.close();
});

describe('candidate on the real model', () => {
  it('shadow: version 1 answers, the int8 candidate agrees with it', async () => {
    for (const name of ['bus.jpg', 'zidane.jpg']) {
      const res = await fetch(`${base}/v2/models/yolo11n/detect`, {
        method: 'POST',
        body: readFileSync(imagePath(name)),
        headers: { 'content-type': 'image/jpeg' },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-model-version')).toBe('1');
    }
    await app.yolo.candidates.settled();
    const r = (await (await fetch(`${base}/v2/models/yolo11n/candidate`)).json()) as {
      primary: string;
      candidate: { version: string; mode: string };
      agreement: { images: number; f1: number; meanConfDelta: number; candidateErrors: number };
    };
    expect(r.primary).toBe('1');
    expect(r.candidate).toMatchObject({ version: '2', mode: 'shadow' });
    expect(r.agreement.images).toBe(2);
    expect(r.agreement.candidateErrors).toBe(0);
    expect(r.agreement.f1).toBeGreaterThan(0.9);
    expect(r.agreement.meanConfDelta).toBeLessThan(0.05);
  }, 120_000);
});
