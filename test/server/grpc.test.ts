// KServe v2 over gRPC: every RPC and error through a grpc-js client, on a fake detector.
import { status } from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeBytesElements } from '../../dist/server/kserve/binary.js';
import { bearer, grpcError, kserveClient, type KserveClient, type Msg } from './grpc-client.js';
import { fakeServer, makeRepository, removeDir, sleep, type FakeDetector } from './helpers.js';

let app: FastifyInstance;
let made: FakeDetector[];
let client: KserveClient;
let repo: string;

const img = (text: string) => Buffer.from(text, 'latin1');
const int32s = (b: Buffer) =>
  Array.from(new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)));
const floats = (b: Buffer) =>
  Array.from(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)));

beforeAll(async () => {
  repo = await makeRepository('', { alpha: [1, 2] });
  ({ app, made } = await fakeServer({
    modelRepository: repo,
    limits: { bodyLimit: 64 * 1024, maxImagesPerRequest: 4 },
    grpc: { port: 0 },
  }));
  client = kserveClient(app.yolo.grpc!.port);
});

afterAll(async () => {
  client.close();
  await app.close();
  await removeDir(repo);
});

const bytesInput = (images: Buffer[]): Msg => ({
  model_name: 'fake',
  inputs: [
    { name: 'image_bytes', datatype: 'BYTES', shape: [images.length], contents: { bytes_contents: images } },
  ],
});

describe('gRPC health and metadata', () => {
  it('ServerLive, ServerReady', async () => {
    expect(await client.call('ServerLive', {})).toEqual({ live: true });
    expect(await client.call('ServerReady', {})).toEqual({ ready: true });
  });

  it('ServerMetadata lists exactly the extensions served', async () => {
    const m = await client.call('ServerMetadata', {});
    expect(m.name).toBe('yolo-trt');
    expect(m.extensions).toEqual([
      'binary_tensor_data',
      'model_repository',
      'model_configuration',
      'statistics',
      'parameters',
      'logging',
      'yolo_trt_candidates',
    ]);
  });

  it('ModelMetadata: inputs and outputs with shapes', async () => {
    const m = await client.call('ModelMetadata', { name: 'fake' });
    expect(m).toMatchObject({ name: 'fake', versions: ['1'], platform: 'yolo-trt-cpu' });
    expect(m.inputs).toEqual([
      { name: 'image_bytes', datatype: 'BYTES', shape: [-1] },
      { name: 'images', datatype: 'FP32', shape: [-1, 3, 64, 64] },
    ]);
    expect((m.outputs as Msg[]).map((o) => o.name)).toEqual([
      'num_dets',
      'det_boxes',
      'det_scores',
      'det_classes',
    ]);
    const alpha = await client.call('ModelMetadata', { name: 'alpha', version: '2' });
    expect(alpha.versions).toEqual(['2']);
  });

  it('ModelReady; unknown model or version -> NOT_FOUND with the HTTP text and code', async () => {
    expect(await client.call('ModelReady', { name: 'fake' })).toEqual({ ready: true });
    const e = await grpcError(client.call('ModelReady', { name: 'nope' }));
    expect(e.code).toBe(status.NOT_FOUND);
    expect(e.details).toMatch(/^Request for unknown model/);
    expect(e.metadata.get('yolo-trt-code')).toEqual(['ERR_MODEL_NOT_FOUND']);
    const v = await grpcError(client.call('ModelMetadata', { name: 'fake', version: '7' }));
    expect(v.code).toBe(status.NOT_FOUND);
  });

  it('ModelConfig in model_config.proto terms: max_batch_size 0, full dims', async () => {
    const { config } = (await client.call('ModelConfig', { name: 'fake' })) as { config: Msg };
    expect(config).toMatchObject({
      name: 'fake',
      platform: 'yolo-trt-cpu',
      backend: 'cpu',
      max_batch_size: 0,
    });
    expect(config.input).toEqual([
      { name: 'image_bytes', data_type: 'TYPE_STRING', format: 'FORMAT_NONE', dims: [-1] },
      { name: 'images', data_type: 'TYPE_FP32', format: 'FORMAT_NCHW', dims: [-1, 3, 64, 64] },
    ]);
    expect((config.output as Msg[])[1]).toEqual({
      name: 'det_boxes',
      data_type: 'TYPE_FP32',
      dims: [-1, -1, 4],
    });
    expect(config.instance_group).toEqual([{ name: '', count: 2, kind: 'KIND_CPU' }]);
    expect(config.dynamic_batching).toMatchObject({ max_queue_delay_microseconds: 0 });
    expect(config.version_policy).toMatchObject({ policy_choice: 'latest', latest: { num_versions: 1 } });
    const params = config.parameters as Record<string, { string_value: string }>;
    expect(params['conf']!.string_value).toBe('0.25');
    expect(JSON.parse(params['labels']!.string_value)).toContain('bus');
  });
});

describe('gRPC ModelInfer', () => {
  it('BYTES via bytes_contents: two images -> raw INT32/FP32 outputs', async () => {
    const r = await client.call('ModelInfer', { ...bytesInput([img('\x80abc'), img('\x40de')]), id: 'r1' });
    expect(r).toMatchObject({ model_name: 'fake', model_version: '1', id: 'r1' });
    const outputs = r.outputs as { name: string; datatype: string; shape: number[] }[];
    expect(outputs.map((o) => [o.name, o.datatype, o.shape])).toEqual([
      ['num_dets', 'INT32', [2, 1]],
      ['det_boxes', 'FP32', [2, 1, 4]],
      ['det_scores', 'FP32', [2, 1]],
      ['det_classes', 'INT32', [2, 1]],
    ]);
    const raw = r.raw_output_contents as Buffer[];
    expect(int32s(raw[0]!)).toEqual([1, 1]);
    expect(floats(raw[1]!)).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
    expect(floats(raw[2]!)[0]).toBeCloseTo(0x80 / 255, 6);
    const params = r.parameters as Record<string, Msg>;
    expect(params['batch_size']).toMatchObject({ parameter_choice: 'int64_param', int64_param: 2 });
    expect(params['queue_ms']).toMatchObject({ parameter_choice: 'double_param' });
  });

  it('BYTES via raw_input_contents (length-prefixed elements), outputs selected', async () => {
    const r = await client.call('ModelInfer', {
      model_name: 'fake',
      inputs: [{ name: 'INPUT', datatype: 'BYTES', shape: [1, 1] }],
      outputs: [{ name: 'det_scores' }],
      raw_input_contents: [writeBytesElements([img('\xffxyz')])],
      parameters: {
        conf: { double_param: 0.1 },
        max_det: { int64_param: 5 },
        classes: { string_param: '0,5' },
      },
    });
    expect((r.outputs as Msg[]).map((o) => o.name)).toEqual(['det_scores']);
    expect(floats((r.raw_output_contents as Buffer[])[0]!)).toEqual([1]);
    const seen = fakeDetector().optionsSeen.at(-1);
    expect(seen).toMatchObject({ conf: 0.1, maxDet: 5, classes: [0, 5] });
  });

  it('FP32 [N,3,H,W] via raw contents and via fp32_contents', async () => {
    // (one image: the test server's message limit is 64 KiB)
    const t = new Float32Array(3 * 64 * 64).fill(0.5);
    const r = await client.call('ModelInfer', {
      model_name: 'fake',
      model_version: '1',
      inputs: [{ name: 'images', datatype: 'FP32', shape: [1, 3, 64, 64] }],
      raw_input_contents: [Buffer.from(t.buffer)],
    });
    expect(int32s((r.raw_output_contents as Buffer[])[0]!)).toEqual([1]);
    expect(floats((r.raw_output_contents as Buffer[])[2]!)).toEqual([0.5]);
    const typed = await client.call('ModelInfer', {
      model_name: 'fake',
      inputs: [
        {
          name: 'images',
          datatype: 'FP32',
          shape: [1, 3, 64, 64],
          contents: { fp32_contents: Array.from(t.subarray(0, 3 * 64 * 64)) },
        },
      ],
    });
    expect((typed.outputs as Msg[])[0]).toMatchObject({ shape: [1, 1] });
  });

  it.each([
    [
      'an undecodable image',
      bytesInput([img('BAD image')]),
      status.INVALID_ARGUMENT,
      'ERR_BAD_IMAGE',
      /decoded/,
    ],
    [
      'a wrong FP32 shape',
      {
        model_name: 'fake',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 32, 32] }],
        raw_input_contents: [Buffer.alloc(3 * 32 * 32 * 4)],
      },
      status.INVALID_ARGUMENT,
      'ERR_BAD_REQUEST',
      /\[N,3,64,64\]/,
    ],
    [
      'raw bytes that do not fill the shape',
      {
        model_name: 'fake',
        inputs: [{ name: 'x', datatype: 'BYTES', shape: [2] }],
        raw_input_contents: [writeBytesElements([img('one')])],
      },
      status.INVALID_ARGUMENT,
      'ERR_BAD_REQUEST',
      /shape says 2/,
    ],
    [
      'an unknown output',
      { ...bytesInput([img('a')]), outputs: [{ name: 'logits' }] },
      status.INVALID_ARGUMENT,
      'ERR_BAD_REQUEST',
      /logits/,
    ],
    [
      'conf out of range',
      { ...bytesInput([img('a')]), parameters: { conf: { double_param: 1.5 } } },
      status.INVALID_ARGUMENT,
      'ERR_BAD_REQUEST',
      /conf/,
    ],
    [
      'a class id the model does not have',
      { ...bytesInput([img('a')]), parameters: { classes: { int64_param: 80 } } },
      status.INVALID_ARGUMENT,
      'ERR_BAD_REQUEST',
      /class ids/,
    ],
    [
      'too many images',
      bytesInput([img('a'), img('b'), img('c'), img('d'), img('e')]),
      status.INVALID_ARGUMENT,
      'ERR_BAD_REQUEST',
      /1 to 4/,
    ],
    ['no inputs', { model_name: 'fake', inputs: [] }, status.INVALID_ARGUMENT, 'ERR_BAD_REQUEST', /0 inputs/],
    [
      'an unknown model',
      { ...bytesInput([img('a')]), model_name: 'nope' },
      status.NOT_FOUND,
      'ERR_MODEL_NOT_FOUND',
      /unknown model/,
    ],
  ])('%s -> its status, text and code', async (_what, request, code, yoloCode, text) => {
    const e = await grpcError(client.call('ModelInfer', request as Msg));
    expect({ code: e.code, details: e.details }).toMatchObject({ code });
    expect(e.details).toMatch(text);
    expect(e.metadata.get('yolo-trt-code')).toEqual([yoloCode]);
  });

  it('a message over the body limit -> RESOURCE_EXHAUSTED', async () => {
    const e = await grpcError(client.call('ModelInfer', bytesInput([Buffer.alloc(70 * 1024, 1)])));
    expect(e.code).toBe(status.RESOURCE_EXHAUSTED);
  });
});

describe('gRPC ModelStreamInfer', () => {
  it('answers every request in order; a failed one is an error_message, the stream goes on', async () => {
    const stream = client.stream();
    const got: Msg[] = [];
    stream.on('data', (m: Msg) => got.push(m));
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    for (let i = 0; i < 6; i++) {
      const frame = i === 3 ? img('BAD frame') : Buffer.from([i * 10 + 1, 1, 2]);
      stream.write({ ...bytesInput([frame]), id: `frame-${i}` });
    }
    stream.end();
    await ended;
    expect(got.map((m) => (m.infer_response as Msg | null)?.id ?? m.error_message)).toEqual([
      'frame-0',
      'frame-1',
      'frame-2',
      expect.stringMatching(/decoded/),
      'frame-4',
      'frame-5',
    ]);
    const scores = got.map((m) => {
      const r = m.infer_response as Msg | null;
      return r === null ? null : floats((r.raw_output_contents as Buffer[])[2]!)[0];
    });
    expect(scores[5]).toBeCloseTo(51 / 255, 6);
  });
});

describe('gRPC statistics, repository and logging', () => {
  it('ModelStatistics counts what ran, for one model or all', async () => {
    const { model_stats } = (await client.call('ModelStatistics', { name: 'fake' })) as {
      model_stats: Msg[];
    };
    const s = model_stats[0]!;
    expect(s).toMatchObject({ name: 'fake', version: '1' });
    expect(s.inference_count as number).toBeGreaterThan(0);
    expect((s.inference_stats as Msg).success).toMatchObject({ count: expect.any(Number) });
    const all = (await client.call('ModelStatistics', {})) as { model_stats: Msg[] };
    expect(all.model_stats.map((m) => m.name)).toEqual(expect.arrayContaining(['fake', 'alpha']));
  });

  it('RepositoryIndex, load with a Triton config, unload, load of an unknown name', async () => {
    const index = (await client.call('RepositoryIndex', { ready: true })) as { models: Msg[] };
    expect(index.models).toContainEqual({ name: 'alpha', version: '2', state: 'READY', reason: '' });
    await client.call('RepositoryModelLoad', {
      model_name: 'alpha',
      parameters: {
        config: {
          string_param: JSON.stringify({
            max_batch_size: 4,
            dynamic_batching: { max_queue_delay_microseconds: 500 },
          }),
        },
      },
    });
    const { config } = (await client.call('ModelConfig', { name: 'alpha' })) as { config: Msg };
    expect(config.dynamic_batching).toMatchObject({ max_queue_delay_microseconds: 500 });
    expect((config.parameters as Record<string, Msg>)['batch_max_images']).toEqual({ string_value: '4' });
    const refused = await grpcError(
      client.call('RepositoryModelLoad', {
        model_name: 'alpha',
        parameters: { config: { string_param: '{"sequence_batching":{}}' } },
      }),
    );
    expect(refused.code).toBe(status.INVALID_ARGUMENT);
    expect(refused.details).toMatch(/sequence_batching is not supported/);
    await client.call('RepositoryModelUnload', { model_name: 'alpha' });
    expect(await client.call('ModelReady', { name: 'alpha' })).toEqual({ ready: false });
    const gone = await grpcError(
      client.call('ModelInfer', { ...bytesInput([img('a')]), model_name: 'alpha' }),
    );
    expect(gone.code).toBe(status.UNAVAILABLE);
    await client.call('RepositoryModelLoad', { model_name: 'alpha' });
    expect(await client.call('ModelReady', { name: 'alpha', version: '2' })).toEqual({ ready: true });
    const unknown = await grpcError(client.call('RepositoryModelLoad', { model_name: 'zeta' }));
    expect(unknown.code).toBe(status.NOT_FOUND);
  });

  it('ModelInfer without a version follows the candidate routing; with a version it does not', async () => {
    await client.call('RepositoryModelLoad', {
      model_name: 'alpha',
      parameters: {
        config: {
          string_param: JSON.stringify({
            versionPolicy: { latest: 2 },
            candidate: { version: '1', mode: 'canary', weight: 1 },
          }),
        },
      },
    });
    const infer = (version: string) =>
      client.call('ModelInfer', {
        ...bytesInput([img('\x80abc')]),
        model_name: 'alpha',
        model_version: version,
      });
    expect((await infer('')).model_version).toBe('1');
    expect((await infer('2')).model_version).toBe('2');
    await app.yolo.candidates.settled();
    expect(app.yolo.candidates.report('alpha')).toMatchObject({
      primary: '2',
      candidate: { version: '1', mode: 'canary' },
      agreement: { images: 1 },
    });
    await client.call('RepositoryModelLoad', {
      model_name: 'alpha',
      parameters: { config: { string_param: '{"versionPolicy":{"latest":2},"candidate":null}' } },
    });
  });

  it('LogSettings reads and really changes the level', async () => {
    const before = (await client.call('LogSettings', {})) as { settings: Record<string, Msg> };
    expect(before.settings['log_format']).toMatchObject({ string_param: 'default' });
    const after = (await client.call('LogSettings', {
      settings: { log_verbose_level: { uint32_param: 1 } },
    })) as { settings: Record<string, Msg> };
    expect(after.settings['log_verbose_level']).toMatchObject({ uint32_param: 1 });
    expect(app.log.level).toBe('debug');
    await client.call('LogSettings', {
      settings: { log_verbose_level: { uint32_param: 0 }, log_info: { bool_param: false } },
    });
    expect(app.log.level).toBe('warn');
    const e = await grpcError(
      client.call('LogSettings', { settings: { log_file: { string_param: '/tmp/x' } } }),
    );
    expect(e.code).toBe(status.INVALID_ARGUMENT);
  });

  it('an RPC the server does not implement -> UNIMPLEMENTED', async () => {
    const e = await grpcError(client.callRaw('SystemSharedMemoryStatus', Buffer.alloc(0)));
    expect(e.code).toBe(status.UNIMPLEMENTED);
  });
});

describe('gRPC auth, overload and shutdown', () => {
  it('bearer token in metadata; health RPCs stay open', async () => {
    const { app: secured } = await fakeServer({ token: 's3cret', grpc: { port: 0 } });
    const c = kserveClient(secured.yolo.grpc!.port);
    try {
      expect(await c.call('ServerLive', {})).toEqual({ live: true });
      const missing = await grpcError(c.call('ModelMetadata', { name: 'fake' }));
      expect(missing.code).toBe(status.UNAUTHENTICATED);
      expect(missing.details).toMatch(/requires Authorization/);
      const wrong = await grpcError(c.call('ModelMetadata', { name: 'fake' }, bearer('nope')));
      expect(wrong.code).toBe(status.UNAUTHENTICATED);
      expect(await c.call('ModelMetadata', { name: 'fake' }, bearer('s3cret'))).toMatchObject({
        name: 'fake',
      });
      const s = c.stream();
      const err = await new Promise<{ code: number }>((resolve) => s.on('error', resolve));
      expect(err.code).toBe(status.UNAUTHENTICATED);
    } finally {
      c.close();
      await secured.close();
    }
  });

  it('a full queue -> UNAVAILABLE with retry-after; shutdown finishes running calls, then refuses', async () => {
    const { app: busy, made: busyMade } = await fakeServer(
      {
        grpc: { port: 0 },
        defaults: { batching: { maxQueueSize: 1, enabled: false, maxInflightBatches: 1 } },
      },
      { delayMs: 200 },
    );
    const c = kserveClient(busy.yolo.grpc!.port);
    try {
      const calls = [0, 1, 2, 3].map((i) =>
        c.call('ModelInfer', bytesInput([Buffer.from([i + 1])])).then(
          () => 'ok',
          (e: { code: number; metadata: { get(k: string): unknown[] } }) => e,
        ),
      );
      const outcomes = await Promise.all(calls);
      const rejected = outcomes.filter((o) => o !== 'ok') as {
        code: number;
        metadata: { get(k: string): unknown[] };
      }[];
      expect(rejected.length).toBeGreaterThan(0);
      expect(rejected[0]!.code).toBe(status.UNAVAILABLE);
      expect(rejected[0]!.metadata.get('yolo-trt-code')).toEqual(['ERR_QUEUE_FULL']);
      expect(rejected[0]!.metadata.get('retry-after')).toHaveLength(1);

      const running = c.call('ModelInfer', bytesInput([Buffer.from([9])]));
      // Close only once the request runs (a fixed sleep is not enough on a loaded machine).
      while (busyMade[0]!.running === 0) await sleep(5);
      const closing = busy.close();
      expect(await running).toMatchObject({ model_name: 'fake' });
      await closing;
      const after = await grpcError(c.call('ServerLive', {}));
      expect(after.code).toBe(status.UNAVAILABLE);
    } finally {
      c.close();
    }
  });
});

function fakeDetector(): FakeDetector {
  return made.find((d) => d.model.path.endsWith('yolo11n.onnx'))!;
}
