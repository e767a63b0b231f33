// yolo-trt embedded in a host Fastify app: routes under a prefix, the host's prom-client registry,
// lifecycle tied to the host's close(); through inject() and over loopback.
import Fastify, { type FastifyInstance } from 'fastify';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { yoloTrtPlugin } from '../../dist/index.js';
import { errorBody, fakeFactory, listen, modelPath, type FakeDetector } from './helpers.js';

let host: FastifyInstance;
let made: FakeDetector[];
let registry: Registry;

beforeAll(async () => {
  registry = new Registry();
  new Counter({ name: 'host_requests_total', help: 'the host app', registers: [registry] }).inc();
  host = Fastify();
  host.get('/hello', async () => ({ hello: 'world' }));
  host.post('/echo', async (request) => ({ got: request.body }));
  host.get('/metrics', async (_request, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  );
  const fake = fakeFactory();
  made = fake.made;
  await host.register(yoloTrtPlugin, {
    prefix: '/yolo',
    models: [{ name: 'fake', path: modelPath() }],
    detectorFactory: fake.factory,
    metricsRegistry: registry,
    token: 'plug',
  });
  await host.ready();
});

afterAll(async () => {
  await host.close();
});

const auth = { authorization: 'Bearer plug' };

describe('yoloTrtPlugin inside a host app', () => {
  it('mounts the routes under the prefix, with the token, next to the host routes', async () => {
    const meta = await host.inject({ method: 'GET', url: '/yolo/v2/models/fake', headers: auth });
    expect(meta.statusCode).toBe(200);
    expect(meta.json()).toMatchObject({ name: 'fake', versions: ['1'] });
    expect((await host.inject({ method: 'GET', url: '/yolo/v2/models/fake' })).statusCode).toBe(401);
    expect((await host.inject({ method: 'GET', url: '/yolo/v2/health/ready' })).statusCode).toBe(200);
    expect((await host.inject({ method: 'GET', url: '/v2/models/fake', headers: auth })).statusCode).toBe(
      404,
    );
    // The host's routes are untouched by our parsers, auth and error handler.
    expect((await host.inject({ method: 'GET', url: '/hello' })).json()).toEqual({ hello: 'world' });
    const echo = await host.inject({
      method: 'POST',
      url: '/echo',
      payload: 'plain',
      headers: { 'content-type': 'text/plain' },
    });
    expect(echo.json()).toEqual({ got: 'plain' });
    expect(host.yolo.registry.names()).toEqual(['fake']);
  });

  it('detects through inject(), and unknown routes under the prefix get our JSON 404', async () => {
    const res = await host.inject({
      method: 'POST',
      url: '/yolo/v2/models/fake/detect',
      headers: { ...auth, 'content-type': 'image/png' },
      payload: Buffer.from('\x80png'),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ detections: [{ name: 'person' }] });
    expect(made[0]!.runs).toEqual([2, 1]); // the warm-up (one image per worker), then this image
    const missing = await host.inject({ method: 'GET', url: '/yolo/v3', headers: auth });
    expect(missing.statusCode).toBe(404);
    expect(errorBody(missing.body).code).toBe('ERR_NOT_FOUND');
  });

  it("one /metrics: the host's registry carries ours, and ours carries the host's", async () => {
    const hostMetrics = (await host.inject({ method: 'GET', url: '/metrics' })).body;
    expect(hostMetrics).toMatch(/^host_requests_total 1$/m);
    expect(hostMetrics).toMatch(/^nv_inference_request_success\{model="fake",version="1"\} 1$/m);
    const ours = (await host.inject({ method: 'GET', url: '/yolo/metrics', headers: auth })).body;
    expect(ours).toMatch(/^host_requests_total 1$/m);
  });

  it('the demo page under the prefix calls the API under the prefix', async () => {
    const page = await host.inject({ method: 'GET', url: '/yolo/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<meta name="yolo-trt-base" content="/yolo">');
    expect(page.body).toContain('href="/yolo/metrics"');
  });

  it('serves over loopback on the host port', async () => {
    const base = await listen(host);
    const res = await fetch(`${base}/yolo/v2`, { headers: auth });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { name: string }).name).toBe('yolo-trt');
  });
});

it("the host's close() drains and disposes the models", async () => {
  const fake = fakeFactory();
  const app = Fastify();
  await app.register(yoloTrtPlugin, {
    models: [{ name: 'm', path: modelPath() }],
    detectorFactory: fake.factory,
  });
  const res = await app.inject({ method: 'GET', url: '/v2/health/ready' });
  expect(res.statusCode).toBe(200);
  expect(fake.made[0]!.disposed).toBe(false);
  await app.close();
  expect(fake.made[0]!.disposed).toBe(true);
});
