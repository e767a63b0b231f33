import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { writeFileAtomic } from '../../dist/engine-cache/atomic-write.js';
import { enginePaths, resolveCacheDir } from '../../dist/engine-cache/cache-dir.js';
import { sha256Hex } from '../../dist/engine-cache/key.js';
import {
  listCacheEntries,
  readCachedPlan,
  readTimingCache,
  removeCachedPlan,
  saveCachedPlan,
  timingCacheId,
  writeTimingCache,
  type PlanMeta,
} from '../../dist/engine-cache/store.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'yolo-trt-cache-'));
}

function meta(key: string): PlanMeta {
  return {
    key,
    inputs: {
      onnxSha256: sha256Hex('m'),
      tensorrtVersion: '10.3.0',
      cudaRuntimeVersion: '12.6',
      cudaDriverVersion: '12.6',
      gpuName: 'Orin',
      computeCapability: '8.7',
      precision: 'fp16',
      profile: null,
      workspaceBytes: null,
      calibrationSha256: null,
    },
    model: '/models/m.onnx',
    createdAt: new Date(0).toISOString(),
    buildSeconds: 1.5,
    dynamicBatch: false,
    quantizedModel: false,
  };
}

describe('resolveCacheDir', () => {
  it('uses $YOLO_TRT_CACHE, else ~/.cache/yolo-trt', () => {
    expect(resolveCacheDir({ YOLO_TRT_CACHE: '/srv/cache' }, '/home/u')).toBe('/srv/cache');
    expect(resolveCacheDir({}, '/home/u')).toBe('/home/u/.cache/yolo-trt');
    expect(resolveCacheDir({ YOLO_TRT_CACHE: '  ' }, '/home/u')).toBe('/home/u/.cache/yolo-trt');
  });

  it('only accepts real keys as file names', () => {
    expect(() => enginePaths('/c', '../../etc/passwd')).toThrow();
  });
});

describe('writeFileAtomic', () => {
  it('creates folders, replaces the target and leaves no temporary file', async () => {
    const dir = tempDir();
    const target = join(dir, 'a', 'b', 'file.bin');
    await writeFileAtomic(target, 'first');
    await writeFileAtomic(target, Uint8Array.from([1, 2, 3]));
    expect([...readFileSync(target)]).toEqual([1, 2, 3]);
    expect(readdirSync(join(dir, 'a', 'b'))).toEqual(['file.bin']);
  });

  it('never shows a reader a torn file while writers race', async () => {
    const dir = tempDir();
    const target = join(dir, 'plan');
    const big = (v: number): Uint8Array => new Uint8Array(2 * 1024 * 1024).fill(v);
    const writes = [1, 2, 3, 4, 5, 6].map((v) => writeFileAtomic(target, big(v)));
    const seen: number[] = [];
    while (seen.length < 50) {
      if (existsSync(target)) {
        const data = readFileSync(target);
        // Whole and uniform: one writer's complete content.
        expect(data.length).toBe(2 * 1024 * 1024);
        expect(data.every((b) => b === data[0])).toBe(true);
        seen.push(data[0] ?? 0);
      } else {
        seen.push(0);
      }
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(writes);
    expect(readdirSync(dir)).toEqual(['plan']);
  });

  it('cleans up its temporary file when the write fails', async () => {
    const dir = tempDir();
    await mkdir(join(dir, 'target-is-a-dir'));
    await expect(writeFileAtomic(join(dir, 'target-is-a-dir'), 'x')).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['target-is-a-dir']);
  });
});

describe('plan cache store', () => {
  it('saves, finds, lists and removes a plan with its sidecar', async () => {
    const dir = tempDir();
    const key = sha256Hex('k1');
    expect(await readCachedPlan(dir, key)).toBeNull();
    expect(await listCacheEntries(dir)).toEqual([]);
    await saveCachedPlan(dir, key, Uint8Array.from([9, 8, 7]), meta(key));
    expect([...((await readCachedPlan(dir, key)) ?? [])]).toEqual([9, 8, 7]);
    const entries = await listCacheEntries(dir);
    expect(entries).toHaveLength(1);
    expect(entries[0]?.key).toBe(key);
    expect(entries[0]?.bytes).toBe(3);
    expect(entries[0]?.meta?.model).toBe('/models/m.onnx');
    await removeCachedPlan(dir, key);
    expect(await readCachedPlan(dir, key)).toBeNull();
    expect(await listCacheEntries(dir)).toEqual([]);
  });

  it('lists plans without (or with a foreign) sidecar, and ignores temporary and stray files', async () => {
    const dir = tempDir();
    const a = sha256Hex('a');
    const b = sha256Hex('b');
    await saveCachedPlan(dir, a, Uint8Array.from([1]), meta(a));
    const pb = enginePaths(dir, b);
    writeFileSync(pb.plan, Uint8Array.from([2, 2]));
    writeFileSync(pb.meta, JSON.stringify(meta(a))); // names another key: not trusted
    writeFileSync(join(dir, 'engines', `.${b}.plan.123.abc.tmp`), 'partial');
    writeFileSync(join(dir, 'engines', 'README'), 'x');
    const entries = await listCacheEntries(dir);
    expect(entries.map((e) => e.key).sort()).toEqual([a, b].sort());
    expect(entries.find((e) => e.key === b)?.meta).toBeNull();
  });

  it('treats an empty plan file as absent', async () => {
    const dir = tempDir();
    const key = sha256Hex('empty');
    await mkdir(join(dir, 'engines'), { recursive: true });
    writeFileSync(enginePaths(dir, key).plan, new Uint8Array(0));
    expect(await readCachedPlan(dir, key)).toBeNull();
  });

  it('keeps one timing cache per TensorRT version and GPU', async () => {
    const dir = tempDir();
    const id = timingCacheId('10.3.0', 'Orin', '8.7');
    expect(timingCacheId('10.3.0', 'Orin', '8.7')).toBe(id);
    expect(timingCacheId('10.4.0', 'Orin', '8.7')).not.toBe(id);
    expect(timingCacheId('10.3.0', 'NVIDIA A100', '8.0')).not.toBe(id);
    expect(await readTimingCache(dir, id)).toBeNull();
    await writeTimingCache(dir, id, Uint8Array.from([4, 5]));
    expect([...((await readTimingCache(dir, id)) ?? [])]).toEqual([4, 5]);
  });
});
