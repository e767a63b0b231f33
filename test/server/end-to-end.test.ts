// An end-to-end model behind the server: yolo11n-e2e through the detect route and KServe infer gives the
// golden end-to-end detections, concurrent requests are batched by the dynamic batcher with each request
// getting its own image's rows, and metadata/config say the model is end-to-end. Over loopback HTTP.
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../dist/index.js';
import { compareDetections, goldenCases, GOLDEN_E2E, YOLO11N_E2E } from '../helpers/golden.js';
import { listen } from './helpers.js';

let app: FastifyInstance;
let base: string;
const cases = goldenCases(GOLDEN_E2E);

type Tensor = { name: string; datatype: string; shape: number[]; data: number[] };
type Result = { detections: { box: number[]; conf: number; cls: number; name: string }[] };

beforeAll(async () => {
  app = await createServer({
    models: [
      {
        name: 'e2e',
        path: YOLO11N_E2E,
        // One worker, batches of up to 8, a queue delay long enough for concurrent requests to meet.
        config: { backend: 'cpu', cpu: { workers: 1, maxBatch: 8 }, batching: { maxQueueDelayMs: 300 } },
      },
    ],
    processMetrics: false,
    demoPage: false,
  });
  base = await listen(app);
});

afterAll(async () => {
  await app?.close();
});

const postImage = (file: string) =>
  fetch(`${base}/v2/models/e2e/detect`, {
    method: 'POST',
    body: readFileSync(file),
    headers: { 'content-type': 'image/jpeg' },
  });

describe('yolo11n-e2e served', () => {
  it('model metadata and config say end-to-end, with iou/agnostic ignored', async () => {
    const meta = (await (await fetch(`${base}/v2/models/e2e`)).json()) as {
      parameters: { end_to_end: boolean; ignored_parameters: string[] };
      outputs: { name: string }[];
    };
    expect(meta.parameters).toEqual({ end_to_end: true, ignored_parameters: ['iou', 'agnostic'] });
    expect(meta.outputs.map((o) => o.name)).toEqual(['num_dets', 'det_boxes', 'det_scores', 'det_classes']);
    const config = (await (await fetch(`${base}/v2/models/e2e/config`)).json()) as {
      end_to_end: boolean;
      parameters: { end_to_end: boolean; ignored_parameters: string[] };
    };
    expect(config.end_to_end).toBe(true);
    expect(config.parameters.ignored_parameters).toEqual(['iou', 'agnostic']);
  });

  it('detect route: the golden detections on the 10 images, requests concurrent and batched', async () => {
    const statsOf = async () =>
      (
        (await (await fetch(`${base}/v2/models/e2e/stats`)).json()) as {
          model_stats: { inference_count: number; execution_count: number }[];
        }
      ).model_stats[0]!;
    const before = await statsOf();
    const responses = await Promise.all(cases.map((c) => postImage(c.imagePath)));
    for (const [i, res] of responses.entries()) {
      expect(res.status, cases[i]!.key).toBe(200);
      const result = (await res.json()) as Result;
      expect(compareDetections(result.detections, cases[i]!.detections), cases[i]!.key).toEqual([]);
    }
    const after = await statsOf();
    expect(after.inference_count - before.inference_count).toBe(cases.length);
    // Fewer runs than images: the batcher put several requests' images into one run.
    expect(after.execution_count - before.execution_count).toBeLessThan(cases.length);
  });

  it('KServe infer: BYTES in JSON, three images, each its own rows in the output tensors', async () => {
    const picked = [cases[0]!, cases[1]!, cases[3]!];
    const res = await fetch(`${base}/v2/models/e2e/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [
          {
            name: 'image_bytes',
            datatype: 'BYTES',
            shape: [picked.length],
            data: picked.map((c) => readFileSync(c.imagePath).toString('base64')),
          },
        ],
      }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { outputs: Tensor[] };
    const out = Object.fromEntries(body.outputs.map((o) => [o.name, o]));
    const k = out.det_boxes!.shape[1]!;
    picked.forEach((c, i) => {
      const n = out.num_dets!.data[i]!;
      const dets = Array.from({ length: n }, (_, j) => ({
        box: out.det_boxes!.data.slice((i * k + j) * 4, (i * k + j) * 4 + 4),
        conf: out.det_scores!.data[i * k + j]!,
        cls: out.det_classes!.data[i * k + j]!,
        name: c.detections[j]?.name ?? '',
      }));
      expect(compareDetections(dets, c.detections), c.key).toEqual([]);
    });
  });

  it('iou/agnostic query parameters are accepted and change nothing', async () => {
    const bus = cases.find((c) => c.key === 'bus')!;
    const res = await fetch(`${base}/v2/models/e2e/detect?iou=0.1&agnostic=true&max_det=5`, {
      method: 'POST',
      body: readFileSync(bus.imagePath),
      headers: { 'content-type': 'image/jpeg' },
    });
    expect(res.status).toBe(200);
    const result = (await res.json()) as Result;
    expect(compareDetections(result.detections, bus.detections.slice(0, 5))).toEqual([]);
  });
});

describe('model config imgsz', () => {
  it('accepts 640 and [h, w], refuses other shapes naming the key', async () => {
    const { parseModelConfig } = await import('../../dist/server/model-config.js');
    expect(parseModelConfig({ imgsz: 640 }, 'm').imgsz).toBe(640);
    expect(parseModelConfig({ imgsz: [480, 640] }, 'm').imgsz).toEqual([480, 640]);
    for (const bad of [[], [1, 2, 3], '640', [480, 0.5], -1]) {
      expect(() => parseModelConfig({ imgsz: bad }, 'm'), JSON.stringify(bad)).toThrow(/m\.imgsz/);
    }
  });
});
