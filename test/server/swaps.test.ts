// Zero-downtime swaps, failed loads, version policies and repository containment, on fake detectors.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { YoloTrtError } from '../../dist/index.js';
import {
  addVersion,
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
let outside: string;
let failVersion3 = true;

const detect = (url = '/v2/models/m/detect') =>
  fetch(base + url, { method: 'POST', body: Buffer.from('\x01x'), headers: { 'content-type': 'image/png' } });
const load = (model: string, config?: unknown) =>
  fetch(`${base}/v2/repository/models/${model}/load`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(config === undefined ? {} : { parameters: { config: JSON.stringify(config) } }),
  });
const versionOf = async (res: Response) => {
  expect(res.status).toBe(200);
  const body = (await res.json()) as { detections: { cls: number }[] };
  return { header: res.headers.get('x-model-version'), tag: body.detections[0]!.cls };
};
const servingVersions = async (model = 'm') =>
  ((await (await fetch(`${base}/v2/models/${model}`)).json()) as { versions: string[] }).versions;

beforeAll(async () => {
  repo = await makeRepository('', { m: [1] });
  outside = await mkdtemp(path.join(tmpdir(), 'yolo-trt-outside-'));
  ({ app, made } = await fakeServer(
    { models: [], modelRepository: repo },
    {
      delayMs: 250,
      failCreate: (o) =>
        failVersion3 && o.model.includes(`${path.sep}3${path.sep}`)
          ? new YoloTrtError(
              'ERR_MODEL_INVALID',
              'model.onnx of version 3 is not an ONNX model (truncated protobuf)',
            )
          : undefined,
    },
  ));
  base = await listen(app);
});

afterAll(async () => {
  await app.close();
  await removeDir(repo);
  await removeDir(outside);
});

describe('model swaps', () => {
  it('loads a new version in the background, switches atomically, drains and then disposes the old one', async () => {
    expect(await servingVersions()).toEqual(['1']);
    const v1 = made.at(-1)!;
    // Requests in flight on version 1 when the swap starts...
    const inflight = [detect(), detect(), detect()];
    await sleep(50);
    await addVersion(repo, 'm', 2, '');
    const loading = load('m');
    // ...and one sent while version 2 warms up: still served by version 1.
    await sleep(50);
    const duringLoad = detect();
    const loaded = await loading;
    expect(loaded.status).toBe(200);
    expect(await loaded.json()).toEqual({ name: 'm', versions: ['2'] });
    for (const r of await Promise.all([...inflight, duringLoad]))
      expect(await versionOf(r)).toEqual({ header: '1', tag: 1 });
    // After the switch every request goes to version 2.
    expect(await versionOf(await detect())).toEqual({ header: '2', tag: 2 });
    await app.yolo.registry.settled();
    expect(v1.disposed).toBe(true);
    expect(v1.running).toBe(0);
    const index = (await (
      await fetch(`${base}/v2/repository/index`, { method: 'POST' })
    ).json()) as unknown[];
    expect(index).toEqual(
      expect.arrayContaining([
        { name: 'm', version: '1', state: 'UNAVAILABLE', reason: 'removed by the version policy' },
        { name: 'm', version: '2', state: 'READY', reason: '' },
      ]),
    );
  });

  it('a failed load keeps the old version serving and says why', async () => {
    const before = made.length;
    await addVersion(repo, 'm', 3, '');
    const res = await load('m');
    expect(res.status).toBe(400);
    const err = errorBody(await res.text());
    expect(err).toEqual({
      code: 'ERR_MODEL_INVALID',
      error: expect.stringMatching(/version 3 is not an ONNX model/),
    });
    expect(made.length).toBe(before); // nothing was built
    expect(await servingVersions()).toEqual(['2']);
    expect((await fetch(`${base}/v2/models/m/ready`)).status).toBe(200);
    expect((await fetch(`${base}/v2/health/ready`)).status).toBe(200);
    expect(await versionOf(await detect())).toEqual({ header: '2', tag: 2 });
    const index = (await (await fetch(`${base}/v2/repository/index`, { method: 'POST' })).json()) as {
      version?: string;
      state?: string;
      reason?: string;
    }[];
    expect(index.find((e) => e.version === '3')).toEqual({
      name: 'm',
      version: '3',
      state: 'UNAVAILABLE',
      reason: expect.stringMatching(/^load failed: .*not an ONNX model/),
    });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/yolo_trt_model_loads_total\{model="m",outcome="failed"\} 1/);
  });

  it('an unchanged version is not reloaded', async () => {
    failVersion3 = false;
    await rm(path.join(repo, 'm', '3'), { recursive: true });
    const before = made.length;
    expect((await load('m')).status).toBe(200);
    expect((await load('m')).status).toBe(200);
    expect(made.length).toBe(before);
  });

  it('follows version_policy: latest N, then a specific list', async () => {
    const res = await load('m', { versionPolicy: { latest: 2 } });
    expect(await res.json()).toEqual({ name: 'm', versions: ['2', '1'] });
    expect(await servingVersions()).toEqual(['2', '1']);
    expect(await versionOf(await detect())).toMatchObject({ header: '2' }); // no version = newest
    expect(await versionOf(await detect('/v2/models/m/versions/1/detect'))).toEqual({ header: '1', tag: 1 });
    const specific = await load('m', { versionPolicy: { specific: [1] } });
    expect(await specific.json()).toEqual({ name: 'm', versions: ['1'] });
    const gone = await detect('/v2/models/m/versions/2/detect');
    expect(gone.status).toBe(400); // Triton's status for an unknown model or version
    expect(errorBody(await gone.text())).toMatchObject({
      code: 'ERR_MODEL_NOT_FOUND',
      error: expect.stringMatching(/^Request for unknown model: 'm' version 2/),
    });
  });

  it('serializes concurrent loads of one model', async () => {
    const [a, b] = await Promise.all([
      load('m', { versionPolicy: { latest: 1 } }),
      load('m', { versionPolicy: { all: true } }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(await servingVersions()).toEqual(['2', '1']);
    await app.yolo.registry.settled();
  });
});

describe('repository containment', () => {
  it('refuses a model directory that is a symlink out of the repository', async () => {
    await mkdir(path.join(outside, 'evil', '1'), { recursive: true });
    await writeFile(path.join(outside, 'evil', '1', 'model.onnx'), 'x');
    await symlink(path.join(outside, 'evil'), path.join(repo, 'evil'));
    const res = await load('evil');
    expect(res.status).toBe(403);
    expect(errorBody(await res.text()).code).toBe('ERR_PATH_OUTSIDE_REPOSITORY');
  });

  it('refuses a model file that is a symlink out of the repository', async () => {
    await writeFile(path.join(outside, 'secret.onnx'), 'x');
    await mkdir(path.join(repo, 'sneaky', '1'), { recursive: true });
    await symlink(path.join(outside, 'secret.onnx'), path.join(repo, 'sneaky', '1', 'model.onnx'));
    const res = await load('sneaky');
    expect(res.status).toBe(403);
    expect(errorBody(await res.text())).toEqual({
      code: 'ERR_PATH_OUTSIDE_REPOSITORY',
      error: expect.stringMatching(/^sneaky\/1\/model\.onnx resolves outside the model repository/),
    });
  });

  it('refuses a model file name that climbs out, and a name that is a path', async () => {
    const res = await load('m', { modelFilename: '../../../secret.onnx' });
    expect(res.status).toBe(403);
    const abs = await load('m', { modelFilename: path.join(outside, 'secret.onnx') });
    expect(abs.status).toBe(403);
    for (const name of ['..', '.hidden', 'a%2F..%2F..%2Fetc', '%2Fetc%2Fpasswd']) {
      const r = await fetch(`${base}/v2/repository/models/${name}/load`, { method: 'POST' });
      expect({ name, status: r.status }).toEqual({ name, status: expect.any(Number) });
      expect(r.status === 400 || r.status === 404).toBe(true);
      expect(['ERR_BAD_REQUEST', 'ERR_NOT_FOUND', 'ERR_MODEL_NOT_FOUND']).toContain(
        errorBody(await r.text()).code,
      );
    }
    // Nothing changed for the model that is serving.
    expect(await servingVersions()).toEqual(['2', '1']);
    expect((await fetch(`${base}/v2/health/ready`)).status).toBe(200);
  });
});
