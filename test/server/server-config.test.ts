// The --config file of `yolo-trt serve` and the model settings it shares with repository config.json.
import { describe, expect, it } from 'vitest';
import { mergeModelConfig, parseModelConfig, selectVersions } from '../../dist/server/model-config.js';
import { parseServeConfig } from '../../dist/server/server-config.js';
import type { DetectorOptions } from '../../dist/index.js';
import { fakeServer, modelPath } from './helpers.js';

describe('serve config file', () => {
  it('reads every field, resolving paths against the file', () => {
    const c = parseServeConfig(
      {
        port: 9000,
        modelRepository: 'repo',
        models: { yolo: { path: 'm/yolo.onnx', conf: 0.4, batching: { maxQueueDelayMs: 2 } } },
        defaults: { backend: 'cpu', cpu: { workers: 2 } },
        limits: { bodyLimit: 1024 },
      },
      '/etc/yolo',
      'cfg',
    );
    expect(c).toMatchObject({
      port: 9000,
      modelRepository: '/etc/yolo/repo',
      models: [
        {
          name: 'yolo',
          path: '/etc/yolo/m/yolo.onnx',
          config: { conf: 0.4, batching: { maxQueueDelayMs: 2 } },
        },
      ],
      defaults: { backend: 'cpu', cpu: { workers: 2 } },
      limits: { bodyLimit: 1024 },
    });
  });

  it.each([
    [{ prot: 8000 }, /one of host, port/],
    [{ port: 70000 }, /port/],
    [{ models: { a: { conf: 0.5 } } }, /models\.a\.path/],
    [{ models: { a: { path: 'x', conf: Number.NaN } } }, /models\.a\.conf/],
    [{ defaults: { batching: { maxQueueSize: 0 } } }, /batching\.maxQueueSize/],
    [{ defaults: { versionPolicy: { newest: 2 } } }, /versionPolicy/],
    [{ limits: { bodyLimit: -1 } }, /limits\.bodyLimit/],
    [{ logLevel: 'loud' }, /logLevel/],
    [{ defaults: { cpu: { spinning: 'yes' } } }, /cpu\.spinning/],
  ])('refuses %j naming the field', (json, message) => {
    expect(() => parseServeConfig(json, '/', 'cfg')).toThrow(message);
  });
});

describe('model settings', () => {
  it('merges field by field, nested objects too', () => {
    const merged = mergeModelConfig(
      parseModelConfig({ conf: 0.2, cpu: { workers: 2 }, batching: { maxQueueSize: 8 } }, 'a'),
      parseModelConfig({ iou: 0.5, cpu: { intraOpThreads: 1 }, batching: { timeoutMs: 100 } }, 'b'),
    );
    expect(merged).toEqual({
      conf: 0.2,
      iou: 0.5,
      cpu: { workers: 2, intraOpThreads: 1 },
      batching: { maxQueueSize: 8, timeoutMs: 100 },
    });
  });

  it('applies version policies to the versions found', () => {
    const found = ['1', '10', '2', '3'];
    expect(selectVersions(found, undefined)).toEqual(['10']);
    expect(selectVersions(found, { latest: 2 })).toEqual(['10', '3']);
    expect(selectVersions(found, { all: true })).toEqual(['10', '3', '2', '1']);
    expect(selectVersions(found, { specific: ['2', '7'] })).toEqual(['2']);
  });
});

describe('CPU settings of served models', () => {
  it('idle onnxruntime threads sleep unless the config asks for spinning (HTTP work shares the cores)', async () => {
    const seen: DetectorOptions[] = [];
    const { app } = await fakeServer(
      {
        models: [
          { name: 'a', path: modelPath(), config: {} },
          {
            name: 'b',
            path: modelPath(),
            config: parseModelConfig({ cpu: { spinning: true, workers: 1 } }, 'b'),
          },
        ],
      },
      { onCreate: (o) => void seen.push(o) },
    );
    await app.close();
    expect(seen.map((o) => o.cpu)).toEqual([{ spinning: false }, { spinning: true, workers: 1 }]);
  });
});
