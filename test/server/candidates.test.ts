// Candidate versions (shadow, canary) on fake detectors: config validation, routing, agreement,
// promote/rollback and automatic rollback. The fake's detections carry the class tag of the version's
// directory (version mod 6), so versions 1 and 7 agree exactly and versions 1 and 2 never do.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { YoloTrtError } from '../../dist/index.js';
import { parseServeConfig } from '../../dist/server/server-config.js';
import { errorBody, fakeServer, listen, makeRepository, removeDir, type FakeDetector } from './helpers.js';

const TOKEN = 'cand1date';
let app: FastifyInstance;
let made: FakeDetector[];
let base: string;
let repo: string;

const auth = { authorization: `Bearer ${TOKEN}` };
const get = (url: string) => fetch(base + url, { headers: auth });
const post = (url: string, body?: unknown) =>
  fetch(base + url, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
const load = (model: string, config?: unknown) =>
  post(
    `/v2/repository/models/${model}/load`,
    config === undefined ? {} : { parameters: { config: JSON.stringify(config) } },
  );
/** One detect request; the version that answered and the class tag it returned. */
const detect = async (model: string, url = `/v2/models/${model}/detect`) => {
  const res = await fetch(base + url, {
    method: 'POST',
    body: Buffer.from('\x80image'),
    headers: { ...auth, 'content-type': 'image/png' },
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { detections: { cls: number }[] };
  return { version: res.headers.get('x-model-version'), cls: body.detections[0]!.cls };
};
const report = async (model: string) => {
  const res = await get(`/v2/models/${model}/candidate`);
  expect(res.status).toBe(200);
  return (await res.json()) as {
    model: string;
    primary: string | null;
    candidate: { version: string; mode: string; weight: number } | null;
    agreement: { images: number; f1: number; candidateErrors: number; errorRate: number } | null;
    rollback: {
      thresholds: Record<string, number>;
      decidedAfter: number;
      lastRollback?: { reason: string; automatic: boolean; version: string };
    };
    status: string;
  };
};
const metric = async (line: RegExp): Promise<number | undefined> => {
  const text = await (await get('/metrics')).text();
  for (const l of text.split('\n')) {
    if (line.test(l)) return Number(l.split(' ').at(-1));
  }
  return undefined;
};
/** Runs of the fake detectors of one model version (the last one built for it). */
const runsOf = (model: string, version: number) =>
  made.filter((d) => d.model.path.includes(`${path.sep}${model}${path.sep}${version}${path.sep}`)).at(-1)!
    .runs.length;
const settled = () => app.yolo.candidates.settled();

const config = (model: string, c: unknown) =>
  writeFile(path.join(repo, model, 'config.json'), JSON.stringify(c));

beforeAll(async () => {
  repo = await makeRepository('', {
    shadow: [1, 7],
    canary: [1, 7],
    bad: [1, 2],
    failing: [1, 2],
    manage: [1, 7],
    plain: [1, 2],
    check: [1, 2],
  });
  const both = { versionPolicy: { latest: 2 } };
  await config('shadow', { ...both, candidate: { version: '7', mode: 'shadow' } });
  await config('canary', { ...both, candidate: { version: 7, mode: 'canary', weight: 0.25 } });
  await config('bad', { ...both, candidate: { version: '2', mode: 'shadow', rollback: { minPairs: 5 } } });
  await config('failing', {
    ...both,
    candidate: { version: '2', mode: 'canary', weight: 1, rollback: { minPairs: 4, maxErrorRate: 0.2 } },
  });
  await config('manage', { ...both, candidate: { version: '7', mode: 'canary', weight: 0 } });
  await config('plain', both);
  await config('check', both);
  ({ app, made } = await fakeServer(
    { models: [], modelRepository: repo, token: TOKEN },
    {
      delayMs: 1,
      // Version 2 of 'failing' loads but fails every inference.
      onCreate: (o, d) => {
        if (!o.model.includes(`${path.sep}failing${path.sep}2${path.sep}`)) return;
        let warm = true;
        const real = d.detectBatchSettled.bind(d);
        d.detectBatchSettled = async (inputs, options) => {
          if (warm) {
            warm = false;
            return real(inputs, options);
          }
          throw new YoloTrtError('ERR_INFERENCE', 'candidate engine failed');
        };
      },
    },
  ));
  base = await listen(app);
});

afterAll(async () => {
  await app?.close();
  await removeDir(repo);
});

describe('candidate config', () => {
  it('refuses an unknown mode, a weight out of range and unknown keys with coded 400s', async () => {
    for (const candidate of [
      { version: '2', mode: 'mirror' },
      { version: '2', mode: 'canary', weight: 1.5 },
      { version: '2', mode: 'canary', weight: -0.1 },
      { version: 'two', mode: 'shadow' },
      { version: '2', mode: 'shadow', rollback: { minF1: 2 } },
      { version: '2', mode: 'shadow', rollback: { minImages: 5 } },
      { version: '2', mode: 'shadow', colour: 'red' },
    ]) {
      const res = await load('check', { versionPolicy: { latest: 2 }, candidate });
      expect(res.status, JSON.stringify(candidate)).toBe(400);
      expect(errorBody(await res.text()).code).toBe('ERR_BAD_REQUEST');
    }
  });

  it('refuses a candidate version that is not served, or that would leave no primary', async () => {
    let res = await load('check', {
      versionPolicy: { latest: 2 },
      candidate: { version: '5', mode: 'shadow' },
    });
    expect(res.status).toBe(400);
    const e = errorBody(await res.text());
    expect(e.code).toBe('ERR_CANDIDATE_INVALID');
    expect(e.error).toMatch(/version 5 .*not served \(serving: 1, 2\)/);
    res = await load('check', {
      versionPolicy: { specific: ['2'] },
      candidate: { version: '2', mode: 'canary' },
    });
    expect(res.status).toBe(400);
    expect(errorBody(await res.text()).code).toBe('ERR_CANDIDATE_INVALID');
    // The failed loads left the model as it was: both versions, no candidate.
    const r = await report('check');
    expect(r.candidate).toBeNull();
    expect(r.primary).toBe('2');
  });

  it('refuses a bad candidate in config.json as an option error', async () => {
    await config('check', {
      versionPolicy: { latest: 2 },
      candidate: { version: '2', mode: 'canary', weight: 3 },
    });
    const res = await load('check');
    expect(res.status).toBe(400);
    const e = errorBody(await res.text());
    expect(e.code).toBe('ERR_INVALID_OPTION');
    expect(e.error).toMatch(/candidate\.weight/);
    await config('check', { versionPolicy: { latest: 2 } });
  });

  it('serve config: a file model names its candidate file; defaults cannot name one', () => {
    const c = parseServeConfig(
      { models: { det: { path: 'a.onnx', candidate: { path: 'b.onnx', mode: 'canary' } } } },
      '/etc/yolo',
      'c',
    );
    expect(c.models[0]!.config!.candidate).toMatchObject({
      version: '2',
      mode: 'canary',
      weight: 0.1,
      path: '/etc/yolo/b.onnx',
      rollback: { minF1: 0.8, maxErrorRate: 0.05, maxLatencyRatio: 3, minImages: 50 },
    });
    expect(() =>
      parseServeConfig({ defaults: { candidate: { version: '2', mode: 'shadow' } } }, '/', 'c'),
    ).toThrow(/defaults\.candidate/);
    expect(() =>
      parseServeConfig({ models: { det: { path: 'a.onnx', candidate: { path: '', mode: 'x' } } } }, '/', 'c'),
    ).toThrow(/candidate\.path/);
  });

  it('a load names a candidate without reloading the versions, and null removes it', async () => {
    const before = made.length;
    let res = await load('plain', {
      versionPolicy: { latest: 2 },
      candidate: { version: '2', mode: 'shadow' },
    });
    expect(res.status).toBe(200);
    expect(made.length).toBe(before); // routing only: no version was rebuilt
    expect((await report('plain')).candidate).toEqual({ version: '2', mode: 'shadow', weight: 1 });
    expect((await report('plain')).primary).toBe('1');
    res = await load('plain', { versionPolicy: { latest: 2 }, candidate: null });
    expect(res.status).toBe(200);
    expect((await report('plain')).candidate).toBeNull();
    expect((await report('plain')).primary).toBe('2');
  });
});

describe('shadow', () => {
  it("mirrors every unversioned request to the candidate; clients get the primary's answer", async () => {
    const before = runsOf('shadow', 7);
    for (let i = 0; i < 6; i++) expect(await detect('shadow')).toEqual({ version: '1', cls: 1 });
    await settled();
    expect(runsOf('shadow', 7) - before).toBe(6);
    const r = await report('shadow');
    expect(r.primary).toBe('1');
    expect(r.candidate).toEqual({ version: '7', mode: 'shadow', weight: 1 });
    expect(r.agreement).toMatchObject({ images: 6, f1: 1, candidateErrors: 0, errorRate: 0 });
    expect(r.status).toBe('collecting');
    expect(r.rollback.decidedAfter).toBe(50);
    expect(
      await metric(/^yolo_trt_candidate_requests_total\{model="shadow",version="7",mode="shadow"\}/),
    ).toBe(6);
    expect(await metric(/^yolo_trt_candidate_f1\{model="shadow",version="7"\}/)).toBe(1);
    expect(await metric(/^yolo_trt_candidate_info\{model="shadow",version="7",mode="shadow"\}/)).toBe(1);
  });

  it('requests naming a version go exactly there and are never mirrored', async () => {
    const before = runsOf('shadow', 7);
    const images = (await report('shadow')).agreement!.images;
    expect(await detect('shadow', '/v2/models/shadow/versions/1/detect')).toEqual({ version: '1', cls: 1 });
    expect(await detect('shadow', '/v2/models/shadow/versions/7/detect')).toEqual({ version: '7', cls: 1 });
    await settled();
    expect(runsOf('shadow', 7) - before).toBe(1);
    expect((await report('shadow')).agreement!.images).toBe(images);
  });

  it('a disagreeing candidate is rolled back automatically once enough pairs are seen', async () => {
    for (let i = 0; i < 4; i++) expect((await detect('bad')).version).toBe('1');
    await settled();
    expect((await report('bad')).status).toBe('collecting');
    // The rollback series exist at 0 before any rollback, so Prometheus' increase() sees the first one.
    expect(await metric(/^yolo_trt_candidate_rollbacks_total\{model="bad",version="2",reason="f1"\}/)).toBe(
      0,
    );
    expect((await detect('bad')).version).toBe('1');
    await settled();
    const r = await report('bad');
    expect(r.candidate).toBeNull();
    expect(r.status).toBe('rolled_back');
    expect(r.agreement).toMatchObject({ images: 5, f1: 0 });
    expect(r.rollback.lastRollback).toMatchObject({ version: '2', automatic: true });
    expect(r.rollback.lastRollback!.reason).toMatch(/F1 0\.000 < 0\.8/);
    expect(await metric(/^yolo_trt_candidate_rollbacks_total\{model="bad",version="2",reason="f1"\}/)).toBe(
      1,
    );
    // No longer routed: nothing more is mirrored, and the primary still answers.
    const before = runsOf('bad', 2);
    expect((await detect('bad')).version).toBe('1');
    await settled();
    expect(runsOf('bad', 2)).toBe(before);
    // A reload with the same config keeps the decision.
    expect((await load('bad')).status).toBe(200);
    expect((await report('bad')).candidate).toBeNull();
  });
});

describe('canary', () => {
  it('answers exactly the configured share with the candidate and says which version answered', async () => {
    const versions: string[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await post('/v2/models/canary/infer', {
        inputs: [
          {
            name: 'image_bytes',
            datatype: 'BYTES',
            shape: [1],
            data: [Buffer.from('\x80image').toString('base64')],
          },
        ],
      });
      expect(res.status).toBe(200);
      versions.push(((await res.json()) as { model_version: string }).model_version);
    }
    expect(versions.filter((v) => v === '7')).toHaveLength(2);
    expect(versions.filter((v) => v === '1')).toHaveLength(6);
    await settled();
    // The primary ran the canary's inputs too, for the comparison.
    const r = await report('canary');
    expect(r.agreement).toMatchObject({ images: 2, f1: 1 });
    expect(
      await metric(/^yolo_trt_candidate_requests_total\{model="canary",version="7",mode="canary"\}/),
    ).toBe(2);
  });

  it('weight 0 sends nothing to the candidate', async () => {
    for (let i = 0; i < 4; i++) expect((await detect('manage')).version).toBe('1');
  });

  it("a failing canary is rolled back on its error rate; a client's bad input is not its error", async () => {
    // Bad input: fails on the candidate and on the primary alike.
    const bad = await fetch(`${base}/v2/models/failing/detect`, {
      method: 'POST',
      body: Buffer.from('BADimage'),
      headers: { ...auth, 'content-type': 'image/png' },
    });
    expect(bad.status).toBe(500); // the failing candidate answered it
    await settled();
    expect((await report('failing')).agreement?.candidateErrors ?? 0).toBe(0);
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${base}/v2/models/failing/detect`, {
        method: 'POST',
        body: Buffer.from('\x80image'),
        headers: { ...auth, 'content-type': 'image/png' },
      });
      expect(res.status).toBe(500);
      expect(res.headers.get('x-model-version')).toBeNull();
      await settled();
    }
    const r = await report('failing');
    expect(r.status).toBe('rolled_back');
    expect(r.rollback.lastRollback!.reason).toMatch(/error rate/);
    expect(await metric(/^yolo_trt_candidate_errors_total\{model="failing",version="2"\}/)).toBe(4);
    expect(
      await metric(/^yolo_trt_candidate_rollbacks_total\{model="failing",version="2",reason="error_rate"\}/),
    ).toBe(1);
    expect((await detect('failing')).version).toBe('1');
  });
});

describe('promote and rollback', () => {
  it('are protected by the token like load and unload', async () => {
    for (const action of ['promote', 'rollback']) {
      const res = await fetch(`${base}/v2/repository/models/manage/${action}`, { method: 'POST' });
      expect(res.status).toBe(401);
      expect(errorBody(await res.text()).code).toBe('ERR_UNAUTHORIZED');
    }
    expect((await report('manage')).candidate).not.toBeNull();
  });

  it('answer 409 without a candidate, 400 for an unknown model, 404 on the candidate route', async () => {
    let res = await post('/v2/repository/models/plain/promote');
    expect(res.status).toBe(409);
    expect(errorBody(await res.text()).code).toBe('ERR_NO_CANDIDATE');
    res = await post('/v2/repository/models/plain/rollback');
    expect(res.status).toBe(409);
    res = await post('/v2/repository/models/nope/promote');
    expect(res.status).toBe(400);
    expect(errorBody(await res.text()).code).toBe('ERR_MODEL_NOT_FOUND');
    res = await get('/v2/models/nope/candidate');
    expect(res.status).toBe(404);
    expect(errorBody(await res.text()).code).toBe('ERR_NOT_FOUND');
    res = await post('/v2/repository/models/manage/rollback', { why: 'x' });
    expect(res.status).toBe(400);
  });

  it('promote makes the candidate the primary; a manual rollback records its reason', async () => {
    let res = await post('/v2/repository/models/manage/promote');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ model: 'manage', primary: '7', previous: '1' });
    expect((await detect('manage')).version).toBe('7');
    let r = await report('manage');
    expect(r).toMatchObject({ primary: '7', candidate: null, status: 'promoted' });

    // A new candidate (the older version, by a load) and a manual rollback of it.
    res = await load('manage', {
      versionPolicy: { latest: 2 },
      candidate: { version: '1', mode: 'canary', weight: 1 },
    });
    expect(res.status).toBe(200);
    r = await report('manage');
    expect(r.primary).toBe('7');
    expect((await detect('manage')).version).toBe('1');
    res = await post('/v2/repository/models/manage/rollback', { reason: 'dashboards look off' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      model: 'manage',
      primary: '7',
      rolledBack: '1',
      reason: 'dashboards look off',
    });
    r = await report('manage');
    expect(r.status).toBe('rolled_back');
    expect(r.rollback.lastRollback).toMatchObject({ reason: 'dashboards look off', automatic: false });
    expect((await detect('manage')).version).toBe('7');
    expect(
      await metric(/^yolo_trt_candidate_rollbacks_total\{model="manage",version="1",reason="manual"\}/),
    ).toBe(1);
  });

  it('the server metadata lists the extension', async () => {
    const body = (await (await get('/v2')).json()) as { extensions: string[] };
    expect(body.extensions).toContain('yolo_trt_candidates');
  });
});
