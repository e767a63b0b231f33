// HTTP behaviours Triton's clients rely on: JSON without Content-Type, compressed responses, Triton's
// status codes and texts, Triton model-config JSON on load, logging, refused trace / shared memory,
// metadata/config agreement, and failed decodes not counted as executions.
import { gunzipSync, inflateSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorBody, fakeServer, listen, makeRepository, removeDir } from './helpers.js';

let app: FastifyInstance;
let base: string;
let repo: string;

beforeAll(async () => {
  repo = await makeRepository('', { alpha: [1] });
  ({ app } = await fakeServer({ modelRepository: repo }));
  base = await listen(app);
});

afterAll(async () => {
  await app.close();
  await removeDir(repo);
});

/** A POST with a body and no Content-Type at all (fetch would add text/plain to a string body). */
const untyped = (url: string, body: string) => fetch(base + url, { method: 'POST', body: new Blob([body]) });

describe('Triton client behaviours over HTTP', () => {
  it('JSON without Content-Type on load, unload, index and logging', async () => {
    const probe = new Blob(['{}']);
    expect(probe.type).toBe(''); // so fetch sends no Content-Type
    expect((await untyped('/v2/repository/models/alpha/unload', '{}')).status).toBe(200);
    expect((await untyped('/v2/repository/models/alpha/load', '{"parameters":{}}')).status).toBe(200);
    const index = (await (await untyped('/v2/repository/index', '{"ready":true}')).json()) as unknown[];
    expect(index).toContainEqual({ name: 'alpha', version: '1', state: 'READY', reason: '' });
    const bad = await untyped('/v2/repository/models/alpha/load', '{nope');
    expect(bad.status).toBe(400);
    expect(errorBody(await bad.text()).error).toMatch(/not valid JSON/);
    const typed = await fetch(`${base}/v2/repository/models/alpha/load`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'text/csv' },
    });
    expect(typed.status).toBe(415);
  });

  it('responses are compressed when asked (gzip, deflate), identity otherwise', async () => {
    const plain = await fetch(`${base}/v2/models/fake/config`, {
      headers: { 'accept-encoding': 'identity' },
    });
    expect(plain.headers.get('content-encoding')).toBeNull();
    const expected = await plain.json();
    for (const [encoding, inflate] of [
      ['gzip', gunzipSync],
      ['deflate', inflateSync],
    ] as const) {
      // node:http, not fetch: fetch would decompress on its own and hide the header.
      const { headers, body } = await rawGet('/v2/models/fake/config', { 'accept-encoding': encoding });
      expect(headers['content-encoding']).toBe(encoding);
      expect(JSON.parse(inflate(body).toString('utf8'))).toEqual(expected);
    }
  });

  it('unknown model or version -> 400 "Request for unknown model" with our code', async () => {
    for (const url of [
      '/v2/models/nope',
      '/v2/models/nope/config',
      '/v2/models/nope/stats',
      '/v2/models/nope/ready',
      '/v2/models/fake/versions/9',
    ]) {
      const res = await fetch(base + url);
      expect({ url, status: res.status }).toEqual({ url, status: 400 });
      const body = errorBody(await res.text());
      expect(body.code).toBe('ERR_MODEL_NOT_FOUND');
      expect(body.error).toMatch(
        /^Request for unknown model: 'nope'|^Request for unknown model: 'fake' version 9/,
      );
    }
    const infer = await fetch(`${base}/v2/models/nope/infer`, {
      method: 'POST',
      body: JSON.stringify({ inputs: [{ name: 'x', shape: [1], datatype: 'BYTES', data: ['AA=='] }] }),
      headers: { 'content-type': 'application/json' },
    });
    expect(infer.status).toBe(400);
    const load = await untyped('/v2/repository/models/absent/load', '');
    expect(load.status).toBe(400);
    expect(errorBody(await load.text()).code).toBe('ERR_MODEL_NOT_FOUND');
  });

  it('a load takes Triton model-config JSON, mapped; the rest is refused naming the field', async () => {
    const config = JSON.stringify({
      max_batch_size: 8,
      dynamic_batching: {
        max_queue_delay_microseconds: 2000,
        preferred_batch_size: [4, 8],
        default_queue_policy: { max_queue_size: 16 },
      },
      instance_group: [{ count: 3, kind: 'KIND_CPU' }],
      parameters: { conf: { string_value: '0.4' } },
    });
    const res = await untyped('/v2/repository/models/alpha/load', JSON.stringify({ parameters: { config } }));
    expect(res.status).toBe(200);
    const c = (await (await fetch(`${base}/v2/models/alpha/config`)).json()) as Record<string, unknown>;
    expect(c).toMatchObject({
      backend: 'cpu',
      dynamic_batching: {
        enabled: true,
        max_queue_delay_microseconds: 2000,
        default_queue_policy: { max_queue_size: 16 },
      },
      parameters: { conf: 0.4, batch_max_images: 8 },
    });
    for (const [bad, field] of [
      [{ input: [] }, /parameters\.config\.input is not supported/],
      [{ dynamic_batching: { priority_levels: 2 } }, /dynamic_batching\.priority_levels is not supported/],
      [{ instance_group: [{ kind: 'KIND_GPU', count: 2 }] }, /KIND_GPU x 2 is not supported/],
      [{ name: 'other' }, /the model loaded is 'alpha'/],
      [{ parameters: { conf: { string_value: '7' } } }, /conf/],
    ] as const) {
      const r = await untyped(
        '/v2/repository/models/alpha/load',
        JSON.stringify({ parameters: { config: JSON.stringify(bad) } }),
      );
      expect(r.status).toBe(400);
      expect(errorBody(await r.text()).error).toMatch(field);
    }
    expect((await fetch(`${base}/v2/models/alpha/ready`)).status).toBe(200); // still serving
  });

  it('/v2/logging reads and really changes the log level', async () => {
    const before = (await (await fetch(`${base}/v2/logging`)).json()) as Record<string, unknown>;
    expect(Object.keys(before).sort()).toEqual([
      'log_error',
      'log_file',
      'log_format',
      'log_info',
      'log_verbose_level',
      'log_warning',
    ]);
    const after = (await (await untyped('/v2/logging', '{"log_verbose_level": 1}')).json()) as Record<
      string,
      unknown
    >;
    expect(after).toMatchObject({ log_verbose_level: 1, log_info: true });
    expect(app.log.level).toBe('debug');
    await untyped('/v2/logging', '{"log_verbose_level": 0, "log_info": false, "log_warning": false}');
    expect(app.log.level).toBe('error');
    const refused = await untyped('/v2/logging', '{"log_file": "/tmp/x.log"}');
    expect(refused.status).toBe(400);
    expect(errorBody(await refused.text()).error).toMatch(/log_file is not supported/);
    await untyped('/v2/logging', '{"log_info": true}');
    expect(app.log.level).toBe('info');
  });

  it('trace settings and shared memory are refused clearly, and not listed in extensions', async () => {
    for (const [method, url, text] of [
      ['GET', '/v2/trace/setting', /tracing is not supported/],
      ['POST', '/v2/models/fake/trace/setting', /tracing is not supported/],
      ['GET', '/v2/systemsharedmemory/status', /shared memory is not supported/],
      ['POST', '/v2/systemsharedmemory/region/r0/register', /shared memory is not supported/],
      ['POST', '/v2/cudasharedmemory/region/r0/unregister', /shared memory is not supported/],
    ] as const) {
      const res = await fetch(base + url, {
        method,
        ...(method === 'POST' ? { body: new Blob(['{}']) } : {}),
      });
      expect({ url, status: res.status }).toEqual({ url, status: 400 });
      expect(errorBody(await res.text()).error).toMatch(text);
    }
    const { extensions } = (await (await fetch(`${base}/v2`)).json()) as { extensions: string[] };
    expect(extensions).toEqual([
      'binary_tensor_data',
      'model_repository',
      'model_configuration',
      'statistics',
      'parameters',
      'logging',
      'yolo_trt_candidates',
    ]);
  });

  it('an undecodable image is a failed request, not an execution', async () => {
    const statsOf = async () =>
      (
        (await (await fetch(`${base}/v2/models/fake/stats`)).json()) as {
          model_stats: {
            inference_count: number;
            execution_count: number;
            batch_stats: { batch_size: number }[];
            inference_stats: { fail: { count: number } };
          }[];
        }
      ).model_stats[0]!;
    const before = await statsOf();
    const res = await fetch(`${base}/v2/models/fake/detect`, {
      method: 'POST',
      body: 'BAD image',
      headers: { 'content-type': 'image/png' },
    });
    expect(res.status).toBe(400);
    const after = await statsOf();
    expect(after.execution_count).toBe(before.execution_count);
    expect(after.inference_stats.fail.count).toBe(before.inference_stats.fail.count + 1);
    expect(after.batch_stats.map((b) => b.batch_size)).not.toContain(0);
  });
});

async function rawGet(
  url: string,
  headers: Record<string, string>,
): Promise<{ headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const http = await import('node:http');
  return new Promise((resolve, reject) => {
    http
      .get(base + url, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}
