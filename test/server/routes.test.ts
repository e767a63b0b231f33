// Every route over real loopback HTTP, and every error shape, on a fake detector (no model needed).
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeBytesElements } from '../../dist/server/kserve/binary.js';
import {
  errorBody,
  fakeServer,
  listen,
  makeRepository,
  removeDir,
  sleep,
  type FakeDetector,
} from './helpers.js';

let app: FastifyInstance;
let made: FakeDetector[];
let base: string;
let repo: string;

const img = (text: string) => Buffer.from(text, 'latin1');
/** '' sends no body at all (and so no Content-Type), like `curl -X POST`. */
const post = (url: string, body: string | Buffer | FormData, headers: Record<string, string> = {}) =>
  fetch(
    base + url,
    body === '' && Object.keys(headers).length === 0 ? { method: 'POST' } : { method: 'POST', body, headers },
  );
const postJson = (url: string, json: unknown) =>
  post(url, JSON.stringify(json), { 'content-type': 'application/json' });

/** The detector of the 'fake' file model (the repository's models are made too). */
const fakeDetector = () => made.find((d) => d.model.path.endsWith('yolo11n.onnx'))!;

async function expectError(res: Response, status: number, code: string): Promise<string> {
  const text = await res.text();
  expect({ status: res.status, text }).toMatchObject({ status });
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  const body = errorBody(text);
  expect(body.code).toBe(code);
  return body.error;
}

beforeAll(async () => {
  repo = await makeRepository('', { alpha: [1, 2] });
  ({ app, made } = await fakeServer({
    modelRepository: repo,
    limits: { bodyLimit: 64 * 1024, maxImagesPerRequest: 4 },
  }));
  base = await listen(app);
});

afterAll(async () => {
  await app.close();
  await removeDir(repo);
});

describe('KServe v2 routes over loopback HTTP', () => {
  it('GET /v2 describes the server', async () => {
    const res = await fetch(`${base}/v2`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { name: string; version: string; extensions: string[] };
    expect(body.name).toBe('yolo-trt');
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(body.extensions).toEqual(
      expect.arrayContaining(['binary_tensor_data', 'model_repository', 'statistics']),
    );
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('health probes answer 200 with an empty body', async () => {
    for (const path of [
      '/v2/health/live',
      '/v2/health/ready',
      '/v2/models/fake/ready',
      '/v2/models/alpha/versions/2/ready',
    ]) {
      const res = await fetch(base + path);
      expect({ path, status: res.status, body: await res.text() }).toEqual({ path, status: 200, body: '' });
    }
  });

  it('model metadata lists inputs, detection outputs, and serving versions', async () => {
    const res = await fetch(`${base}/v2/models/fake`);
    expect(res.status).toBe(200);
    const meta = (await res.json()) as {
      name: string;
      versions: string[];
      platform: string;
      inputs: { name: string; datatype: string; shape: number[] }[];
      outputs: { name: string; datatype: string; shape: number[]; description: string }[];
    };
    expect(meta).toMatchObject({ name: 'fake', versions: ['1'], platform: 'yolo-trt-cpu' });
    expect(meta.inputs.map((i) => [i.datatype, i.shape])).toEqual([
      ['BYTES', [-1]],
      ['FP32', [-1, 3, 64, 64]],
    ]);
    expect(meta.outputs.map((o) => `${o.name}:${o.datatype}[${o.shape.join(',')}]`)).toEqual([
      'num_dets:INT32[-1,1]',
      'det_boxes:FP32[-1,-1,4]',
      'det_scores:FP32[-1,-1]',
      'det_classes:INT32[-1,-1]',
    ]);
    expect(meta.outputs[1]!.description).toMatch(/original-image pixels/);
    // The repository model serves its latest version only (default policy latest 1).
    const alpha = (await (await fetch(`${base}/v2/models/alpha`)).json()) as { versions: string[] };
    expect(alpha.versions).toEqual(['2']);
    const v2 = (await (await fetch(`${base}/v2/models/alpha/versions/2`)).json()) as { versions: string[] };
    expect(v2.versions).toEqual(['2']);
  });

  it('infer: BYTES in JSON (base64) -> detection tensors in JSON', async () => {
    const res = await postJson('/v2/models/fake/infer', {
      id: 'req-7',
      parameters: { conf: 0.3 },
      inputs: [
        {
          name: 'image_bytes',
          datatype: 'BYTES',
          shape: [2],
          data: [img('\x80abc').toString('base64'), img('\x40xy').toString('base64')],
        },
      ],
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      model_name: string;
      model_version: string;
      id: string;
      outputs: { name: string; shape: number[]; data: number[] }[];
      parameters: Record<string, number>;
    };
    expect(body).toMatchObject({ model_name: 'fake', model_version: '1', id: 'req-7' });
    const out = Object.fromEntries(body.outputs.map((o) => [o.name, o]));
    expect(out.num_dets).toMatchObject({ shape: [2, 1], data: [1, 1] });
    expect(out.det_boxes).toMatchObject({ shape: [2, 1, 4], data: [1, 2, 3, 4, 1, 2, 3, 4] });
    expect(out.det_scores!.data.map((x) => Math.round(x * 255))).toEqual([0x80, 0x40]);
    expect(body.parameters.batch_size).toBeGreaterThanOrEqual(2);
    expect(fakeDetector().optionsSeen.at(-1)).toMatchObject({ conf: 0.3 });
  });

  it('infer: the binary tensor extension in and out', async () => {
    const blob = writeBytesElements([img('\x10one')]);
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: 'IMAGE', datatype: 'BYTES', shape: [1, 1], parameters: { binary_data_size: blob.length } },
        ],
        outputs: [{ name: 'num_dets', parameters: { binary_data: true } }, { name: 'det_scores' }],
      }),
    );
    // No Content-Type, as Triton's Python client sends it.
    const res = await fetch(`${base}/v2/models/fake/versions/1/infer`, {
      method: 'POST',
      body: Buffer.concat([header, blob]),
      headers: { 'inference-header-content-length': String(header.length) },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    const raw = Buffer.from(await res.arrayBuffer());
    const headerLength = Number(res.headers.get('inference-header-content-length'));
    const json = JSON.parse(raw.subarray(0, headerLength).toString()) as {
      outputs: { name: string; parameters?: { binary_data_size: number }; data?: number[] }[];
    };
    expect(json.outputs.map((o) => o.name)).toEqual(['num_dets', 'det_scores']);
    expect(json.outputs[0]!.parameters!.binary_data_size).toBe(4);
    expect(raw.subarray(headerLength).readInt32LE(0)).toBe(1);
    expect(Math.round(json.outputs[1]!.data![0]! * 255)).toBe(0x10);
  });

  it('infer: JSON with no Content-Type (as Triton clients send it)', async () => {
    const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'BYTES', shape: [1], data: ['QUJD'] }] });
    // fetch always adds a Content-Type to a string body: use node:http.
    const { statusCode, text } = await new Promise<{ statusCode: number; text: string }>(
      (resolve, reject) => {
        const req = http.request(
          `${base}/v2/models/fake/infer`,
          { method: 'POST', headers: { 'content-length': body.length } },
          (res) => {
            let text = '';
            res.on('data', (d: Buffer) => (text += d.toString()));
            res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, text }));
          },
        );
        req.on('error', reject);
        req.end(body);
      },
    );
    expect(statusCode).toBe(200);
    expect((JSON.parse(text) as { outputs: { name: string; data: number[] }[] }).outputs[0]).toMatchObject({
      name: 'num_dets',
      data: [1],
    });
  });

  it('infer: an FP32 [N,3,H,W] tensor', async () => {
    // Zeros keep the JSON under this server's 64 KiB body limit; the fake reports each image's first value.
    const values = new Array<number>(2 * 3 * 64 * 64).fill(0);
    values[0] = 0.25;
    values[3 * 64 * 64] = 0.5;
    const res = await postJson('/v2/models/fake/infer', {
      inputs: [{ name: 'images', datatype: 'FP32', shape: [2, 3, 64, 64], data: values }],
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { outputs: { name: string; data: number[] }[] };
    expect(body.outputs.find((o) => o.name === 'det_scores')!.data).toEqual([0.25, 0.5]);
  });

  it('detect: one image -> one result, multipart -> an array in part order', async () => {
    const one = await post('/v2/models/fake/detect?conf=0.5&classes=0,2&agnostic=true', img('\x20abc'), {
      'content-type': 'image/jpeg',
    });
    expect(one.status).toBe(200);
    expect(one.headers.get('server-timing')).toMatch(
      /queue;dur=[\d.]+, preprocess;dur=1\.00, inference;dur=2\.00/,
    );
    expect(one.headers.get('x-model-version')).toBe('1');
    const result = (await one.json()) as { detections: { conf: number }[]; width: number };
    expect(result.width).toBe(4);
    expect(fakeDetector().optionsSeen.at(-1)).toMatchObject({ conf: 0.5, classes: [0, 2], agnostic: true });

    const form = new FormData();
    form.append('a', new Blob([img('\x01first')], { type: 'image/png' }), 'a.png');
    form.append('note', 'fields are ignored');
    form.append('b', new Blob([img('\x02second!')], { type: 'image/png' }), 'b.png');
    const multi = await fetch(`${base}/v2/models/alpha/versions/2/detect`, { method: 'POST', body: form });
    expect(multi.status).toBe(200);
    const results = (await multi.json()) as { width: number }[];
    expect(results.map((r) => r.width)).toEqual([6, 8]);
  });

  it('stats and config follow Triton', async () => {
    const stats = (await (await fetch(`${base}/v2/models/fake/stats`)).json()) as {
      model_stats: {
        name: string;
        version: string;
        inference_count: number;
        execution_count: number;
        inference_stats: { success: { count: number; ns: number } };
        batch_stats: { batch_size: number }[];
      }[];
    };
    const s = stats.model_stats[0]!;
    expect(s).toMatchObject({ name: 'fake', version: '1' });
    expect(s.inference_stats.success.count).toBeGreaterThanOrEqual(4);
    expect(s.inference_stats.success.ns).toBeGreaterThan(0);
    expect(s.inference_count).toBeGreaterThanOrEqual(s.execution_count);
    expect(s.batch_stats.length).toBeGreaterThan(0);
    const v = (await (await fetch(`${base}/v2/models/alpha/versions/2/stats`)).json()) as {
      model_stats: { version: string }[];
    };
    expect(v.model_stats.map((x) => x.version)).toEqual(['2']);
    const all = (await (await fetch(`${base}/v2/models/stats`)).json()) as {
      model_stats: { name: string }[];
    };
    expect(all.model_stats.map((x) => x.name).sort()).toEqual(['alpha', 'fake']);

    const config = (await (await fetch(`${base}/v2/models/fake/config`)).json()) as Record<string, unknown>;
    expect(config).toMatchObject({
      name: 'fake',
      backend: 'cpu',
      // Triton's max_batch_size 0: dims are full shapes; the server batches up to batch_max_images.
      max_batch_size: 0,
      input: [
        { name: 'image_bytes', data_type: 'TYPE_STRING', dims: [-1] },
        { name: 'images', data_type: 'TYPE_FP32', format: 'FORMAT_NCHW', dims: [-1, 3, 64, 64] },
      ],
      instance_group: [{ count: 2, kind: 'KIND_CPU' }],
      dynamic_batching: { default_queue_policy: { max_queue_size: 64 } },
      parameters: { conf: 0.25, iou: 0.7, max_det: 300, batch_max_images: 2 },
    });
    // Metadata shapes and config dims agree.
    const meta = (await (await fetch(`${base}/v2/models/fake`)).json()) as {
      inputs: { name: string; shape: number[] }[];
    };
    expect(meta.inputs.map((i) => i.shape)).toEqual([[-1], [-1, 3, 64, 64]]);
    expect((config.labels as string[])[5]).toBe('bus');
    const v2config = await fetch(`${base}/v2/models/alpha/versions/2/config`);
    expect(v2config.status).toBe(200);
  });

  it('repository index, unload and load', async () => {
    const index = (await (await post('/v2/repository/index', '')).json()) as {
      name: string;
      version?: string;
      state?: string;
    }[];
    expect(index).toEqual(
      expect.arrayContaining([
        { name: 'alpha', version: '2', state: 'READY', reason: '' },
        { name: 'fake', version: '1', state: 'READY', reason: '' },
      ]),
    );
    const unload = await post('/v2/repository/models/alpha/unload', '');
    expect(unload.status).toBe(200);
    expect((await fetch(`${base}/v2/models/alpha/ready`)).status).toBe(503);
    await expectError(
      await post('/v2/models/alpha/detect', img('x'), { 'content-type': 'image/png' }),
      503,
      'ERR_MODEL_NOT_READY',
    );
    const ready = (await (await postJson('/v2/repository/index', { ready: true })).json()) as {
      name: string;
    }[];
    expect(ready.map((r) => r.name)).toEqual(['fake']);
    const load = await postJson('/v2/repository/models/alpha/load', {});
    expect(load.status).toBe(200);
    expect(await load.json()).toEqual({ name: 'alpha', versions: ['2'] });
    expect((await fetch(`${base}/v2/models/alpha/ready`)).status).toBe(200);
  });

  it('GET /metrics has Triton names with model/version labels, our histograms, and no GPU gauges here', async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^nv_inference_request_success\{model="fake",version="1"\} [1-9]/m);
    expect(text).toMatch(/^nv_inference_count\{model="fake",version="1"\} [1-9]/m);
    expect(text).toMatch(/^nv_inference_exec_count\{model="fake",version="1"\} [1-9]/m);
    expect(text).toMatch(/^nv_inference_queue_duration_us\{model="fake",version="1"\} \d/m);
    expect(text).toMatch(/^nv_inference_compute_infer_duration_us\{model="fake",version="1"\} [1-9]/m);
    expect(text).toMatch(/^nv_inference_pending_request_count\{model="fake",version="1"\} 0/m);
    expect(text).toMatch(
      /^yolo_trt_request_duration_seconds_bucket\{le="0.1",model="fake",version="1"\} [1-9]/m,
    );
    expect(text).toMatch(/^yolo_trt_batch_size_count\{model="fake",version="1"\} [1-9]/m);
    expect(text).toMatch(
      /^yolo_trt_http_request_duration_seconds_count\{.*route="\/v2\/models\/:model\/detect".*\} [1-9]/m,
    );
    expect(text).not.toMatch(/nv_gpu_/);
  });

  it('GET / serves the demo page with a strict CSP', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    const html = await res.text();
    expect(html).toContain('<canvas id="canvas"');
    expect(html).not.toMatch(/https?:\/\//); // self-contained
  });
});

describe('every bad input is a 4xx JSON error and the server stays healthy', () => {
  const cases: [string, () => Promise<Response>, number, string][] = [
    [
      'unknown model',
      () => post('/v2/models/nope/detect', img('x'), { 'content-type': 'image/png' }),
      400,
      'ERR_MODEL_NOT_FOUND',
    ],
    ['unknown model metadata', () => fetch(`${base}/v2/models/nope`), 400, 'ERR_MODEL_NOT_FOUND'],
    ['unknown model ready', () => fetch(`${base}/v2/models/nope/ready`), 400, 'ERR_MODEL_NOT_FOUND'],
    ['unknown version', () => fetch(`${base}/v2/models/fake/versions/9`), 400, 'ERR_MODEL_NOT_FOUND'],
    [
      'non-numeric version',
      () => fetch(`${base}/v2/models/fake/versions/latest/stats`),
      400,
      'ERR_BAD_REQUEST',
    ],
    ['unknown route', () => fetch(`${base}/v3/nothing`), 404, 'ERR_NOT_FOUND'],
    [
      'wrong content type',
      () => post('/v2/models/fake/detect', 'hello', { 'content-type': 'text/plain' }),
      415,
      'ERR_UNSUPPORTED_MEDIA_TYPE',
    ],
    ['json to detect', () => postJson('/v2/models/fake/detect', {}), 415, 'ERR_UNSUPPORTED_MEDIA_TYPE'],
    [
      'empty image body',
      () => post('/v2/models/fake/detect', '', { 'content-type': 'image/jpeg' }),
      400,
      'ERR_BAD_REQUEST',
    ],
    [
      'corrupt image',
      () => post('/v2/models/fake/detect', img('BAD image'), { 'content-type': 'image/jpeg' }),
      400,
      'ERR_BAD_IMAGE',
    ],
    [
      'oversized body',
      () => post('/v2/models/fake/detect', Buffer.alloc(65 * 1024, 1), { 'content-type': 'image/jpeg' }),
      413,
      'ERR_BODY_TOO_LARGE',
    ],
    [
      'oversized multipart file',
      () => {
        const form = new FormData();
        form.append('a', new Blob([Buffer.alloc(65 * 1024, 1)]), 'a.jpg');
        return fetch(`${base}/v2/models/fake/detect`, { method: 'POST', body: form });
      },
      413,
      'ERR_BODY_TOO_LARGE',
    ],
    [
      'too many multipart files',
      () => {
        const form = new FormData();
        for (let i = 0; i < 5; i++) form.append(`f${i}`, new Blob([img('\x01x')]), `${i}.jpg`);
        return fetch(`${base}/v2/models/fake/detect`, { method: 'POST', body: form });
      },
      413,
      'ERR_BODY_TOO_LARGE',
    ],
    [
      'multipart without files',
      () => {
        const form = new FormData();
        form.append('only', 'a field');
        return fetch(`${base}/v2/models/fake/detect`, { method: 'POST', body: form });
      },
      400,
      'ERR_BAD_REQUEST',
    ],
    [
      'NaN threshold',
      () => post('/v2/models/fake/detect?conf=NaN', img('x'), { 'content-type': 'image/png' }),
      400,
      'ERR_BAD_REQUEST',
    ],
    [
      'threshold above 1',
      () => post('/v2/models/fake/detect?iou=1.5', img('x'), { 'content-type': 'image/png' }),
      400,
      'ERR_BAD_REQUEST',
    ],
    [
      'unknown query parameter',
      () => post('/v2/models/fake/detect?confidence=0.5', img('x'), { 'content-type': 'image/png' }),
      400,
      'ERR_BAD_REQUEST',
    ],
    [
      'class id out of range',
      () => post('/v2/models/fake/detect?classes=0,99', img('x'), { 'content-type': 'image/png' }),
      400,
      'ERR_BAD_REQUEST',
    ],
    [
      'malformed JSON',
      () => post('/v2/models/fake/infer', '{"inputs": [', { 'content-type': 'application/json' }),
      400,
      'ERR_BAD_REQUEST',
    ],
    ['JSON without inputs', () => postJson('/v2/models/fake/infer', { outputs: [] }), 400, 'ERR_BAD_REQUEST'],
    [
      'NaN in KServe parameters',
      () =>
        postJson('/v2/models/fake/infer', {
          parameters: { conf: 'NaN' },
          inputs: [{ name: 'x', datatype: 'BYTES', shape: [1], data: ['eA=='] }],
        }),
      400,
      'ERR_BAD_REQUEST',
    ],
    [
      'wrong tensor datatype',
      () =>
        postJson('/v2/models/fake/infer', {
          inputs: [{ name: 'x', datatype: 'UINT8', shape: [1, 3, 64, 64], data: [] }],
        }),
      400,
      'ERR_BAD_REQUEST',
    ],
    [
      'wrong tensor shape',
      () =>
        postJson('/v2/models/fake/infer', {
          inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 32, 32], data: [] }],
        }),
      400,
      'ERR_BAD_REQUEST',
    ],
    [
      'shape that is not integers',
      () =>
        postJson('/v2/models/fake/infer', {
          inputs: [{ name: 'x', datatype: 'FP32', shape: [1.5], data: [] }],
        }),
      400,
      'ERR_BAD_REQUEST',
    ],
    [
      'unknown output',
      () =>
        postJson('/v2/models/fake/infer', {
          inputs: [{ name: 'x', datatype: 'BYTES', shape: [1], data: ['eA=='] }],
          outputs: [{ name: 'masks' }],
        }),
      400,
      'ERR_BAD_REQUEST',
    ],
    [
      'corrupt image in BYTES',
      () =>
        postJson('/v2/models/fake/infer', {
          inputs: [
            {
              name: 'x',
              datatype: 'BYTES',
              shape: [2],
              data: ['eA==', Buffer.from('BAD').toString('base64')],
            },
          ],
        }),
      400,
      'ERR_BAD_IMAGE',
    ],
    [
      'binary body without its header',
      () => post('/v2/models/fake/infer', Buffer.from('xyz'), { 'content-type': 'application/octet-stream' }),
      415,
      'ERR_UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'binary header length beyond the body',
      () => post('/v2/models/fake/infer', Buffer.from('{}'), { 'inference-header-content-length': '99' }),
      400,
      'ERR_BAD_REQUEST',
    ],
    [
      'model name with traversal',
      () => post('/v2/repository/models/..%2F..%2Fetc/load', ''),
      400,
      'ERR_BAD_REQUEST',
    ],
    [
      'load of a model not in the repository',
      () => post('/v2/repository/models/absent/load', ''),
      400,
      'ERR_MODEL_NOT_FOUND',
    ],
    [
      'load config that is not JSON',
      () => postJson('/v2/repository/models/alpha/load', { parameters: { config: '{nope' } }),
      400,
      'ERR_BAD_REQUEST',
    ],
    [
      'load config with an unknown key',
      () => postJson('/v2/repository/models/alpha/load', { parameters: { config: '{"instances": 3}' } }),
      400,
      'ERR_BAD_REQUEST',
    ],
    [
      'load with a file outside the repository',
      () =>
        postJson('/v2/repository/models/alpha/load', {
          parameters: { config: '{"modelFilename": "../../../../../etc/passwd"}' },
        }),
      403,
      'ERR_PATH_OUTSIDE_REPOSITORY',
    ],
  ];

  it.each(cases)('%s', async (_name, send, status, code) => {
    const message = await expectError(await send(), status, code);
    expect(message.length).toBeGreaterThan(5);
  });

  it('the server is still healthy and serving after all of them', async () => {
    expect((await fetch(`${base}/v2/health/ready`)).status).toBe(200);
    expect((await fetch(`${base}/v2/models/alpha/ready`)).status).toBe(200);
    const res = await post('/v2/models/fake/detect', img('\x05ok'), { 'content-type': 'image/webp' });
    expect(res.status).toBe(200);
    // Client errors never count as backend failures.
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).not.toMatch(/reason="BACKEND"/);
    expect(metrics).toMatch(/nv_inference_request_failure\{model="fake",version="1",reason="OTHER"\} [1-9]/);
  });
});

describe('bearer token', () => {
  it('guards everything but health probes and the demo page', async () => {
    const { app: secured } = await fakeServer({ token: 's3cret' });
    try {
      const url = await listen(secured);
      expect((await fetch(`${url}/v2/health/live`)).status).toBe(200);
      expect((await fetch(`${url}/v2/health/ready`)).status).toBe(200);
      expect((await fetch(`${url}/`)).status).toBe(200);
      const none = await fetch(`${url}/v2/models/fake`);
      expect(none.headers.get('www-authenticate')).toBe('Bearer');
      await expectError(none, 401, 'ERR_UNAUTHORIZED');
      await expectError(
        await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer wrong' } }),
        401,
        'ERR_UNAUTHORIZED',
      );
      await expectError(
        await fetch(`${url}/v2/models/fake/ready`, { headers: { authorization: 's3cret' } }),
        401,
        'ERR_UNAUTHORIZED',
      );
      const ok = await fetch(`${url}/v2/models/fake`, { headers: { authorization: 'Bearer s3cret' } });
      expect(ok.status).toBe(200);
    } finally {
      await secured.close();
    }
  });
});

describe('queueing under overload', () => {
  it('answers 503 + Retry-After when the queue is full, 504 past the timeout, and drops disconnected clients', async () => {
    const { app: slow, made: detectors } = await fakeServer(
      {
        defaults: { batching: { maxQueueSize: 2, maxInflightBatches: 1, maxBatchSize: 1, timeoutMs: 5_000 } },
      },
      { delayMs: 150 },
    );
    try {
      const url = await listen(slow);
      const send = (signal?: AbortSignal) =>
        fetch(`${url}/v2/models/fake/detect`, {
          method: 'POST',
          body: img('\x01x'),
          headers: { 'content-type': 'image/png' },
          signal,
        });
      // 1 runs + 2 queue; the other 5 are refused at once.
      const responses = await Promise.all(Array.from({ length: 8 }, () => send()));
      const statuses = responses.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 200, 200, 503, 503, 503, 503, 503]);
      const refused = responses.find((r) => r.status === 503)!;
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      await expectError(refused, 503, 'ERR_QUEUE_FULL');

      // A client that leaves while queued: its image is never run.
      const runsBefore = detectors[0]!.runs.length;
      const first = send();
      await sleep(30);
      const gone = new AbortController();
      const abandoned = send(gone.signal).catch((e: unknown) => e);
      await sleep(30);
      gone.abort();
      expect(await abandoned).toBeInstanceOf(Error);
      expect((await first).status).toBe(200);
      await sleep(200);
      expect(detectors[0]!.runs.length - runsBefore).toBe(1);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/nv_inference_request_failure\{model="fake",version="1",reason="CANCELED"\} 1/);
      expect(metrics).toMatch(/nv_inference_request_failure\{model="fake",version="1",reason="REJECTED"\} 5/);
    } finally {
      await slow.close();
    }

    const { app: timed } = await fakeServer({ defaults: { batching: { timeoutMs: 50 } } }, { delayMs: 300 });
    try {
      const url = await listen(timed);
      const res = await fetch(`${url}/v2/models/fake/detect`, {
        method: 'POST',
        body: img('\x01x'),
        headers: { 'content-type': 'image/png' },
      });
      await expectError(res, 504, 'ERR_TIMEOUT');
    } finally {
      await timed.close();
    }
  });
});

describe('graceful shutdown', () => {
  it('finishes running requests, answers new ones 503 ERR_SHUTTING_DOWN, then stops listening', async () => {
    const { app: closing, made: detectors } = await fakeServer({}, { delayMs: 300 });
    const url = await listen(closing);
    const running = fetch(`${url}/v2/models/fake/detect`, {
      method: 'POST',
      body: img('\x07slow'),
      headers: { 'content-type': 'image/png' },
    });
    // A request in transit when shutdown begins (headers not yet complete) is answered 503. (A connection
    // with no request at all is closed: Node >= 26's server.close() does that itself, our reaper before.)
    const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
    await once(socket, 'connect');
    const idle = net.connect(Number(new URL(url).port), '127.0.0.1');
    await once(idle, 'connect');
    const idleClosed = once(idle, 'close');
    const socketClosed = once(socket, 'close');
    let reply = '';
    socket.on('data', (d: Buffer) => (reply += d.toString()));
    socket.write('GET /v2/models/fake HTTP/1.1\r\nHost: x\r\n');
    await sleep(100);
    const closed = closing.close();
    for (let i = 0; i < 100 && !closing.yolo.shuttingDown; i++) await sleep(5);
    socket.write('\r\n');
    await socketClosed;
    expect(reply).toMatch(/^HTTP\/1\.1 503 /);
    expect(reply).toMatch(/\r\nconnection: close\r\n/i);
    expect(errorBody(reply.slice(reply.indexOf('\r\n\r\n') + 4)).code).toBe('ERR_SHUTTING_DOWN');
    await idleClosed;
    const res = await running;
    expect(res.status).toBe(200);
    await closed;
    expect(detectors[0]!.disposed).toBe(true);
    await expect(fetch(`${url}/v2/health/live`)).rejects.toThrow();
  });
});
