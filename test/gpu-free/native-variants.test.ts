import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import {
  listPrebuilds,
  orderVariantCandidates,
  parseLdconfig,
  parseTegraRelease,
  tensorRtMajors,
  type MachineProbe,
  type PrebuildManifest,
} from '../../dist/native/variants.js';

function manifest(variant: string, extra: Partial<PrebuildManifest> = {}): PrebuildManifest {
  return {
    variant,
    platform: 'linux',
    arch: 'x64',
    version: '0.1.0',
    napi: 8,
    cuda: null,
    cudaArchitectures: [],
    tensorrt: null,
    tensorrtMajor: null,
    jetpack: null,
    requires: [],
    ...extra,
  };
}

/** A prebuilds/<platform>-<arch> folder with these variants (empty .node files + manifests). */
function prebuildDir(manifests: (PrebuildManifest | string)[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'yolo-trt-prebuilds-'));
  for (const m of manifests) {
    const variant = typeof m === 'string' ? m : m.variant;
    writeFileSync(join(dir, `yolo_trt.${variant}.node`), '');
    if (typeof m !== 'string') writeFileSync(join(dir, `yolo_trt.${variant}.json`), JSON.stringify(m));
  }
  return dir;
}

const SERVER_SET = [
  manifest('cpu'),
  manifest('cuda', { cuda: '13.0' }),
  manifest('tensorrt10', {
    cuda: '12.6',
    tensorrt: '10.3.0',
    tensorrtMajor: 10,
    requires: ['libnvinfer.so.10', 'libnvonnxparser.so.10'],
  }),
  manifest('tensorrt8', {
    cuda: '11.8',
    tensorrt: '8.6.1',
    tensorrtMajor: 8,
    requires: ['libnvinfer.so.8', 'libnvonnxparser.so.8'],
  }),
  manifest('jetpack6', {
    cuda: '12.6',
    tensorrt: '10.3.0',
    tensorrtMajor: 10,
    jetpack: 6,
    requires: ['libnvinfer.so.10'],
  }),
];

const NOTHING: MachineProbe = { jetson: null, libraries: new Set() };
const LOCAL = '/pkg/build/Release/yolo_trt.node';

function order(probe: MachineProbe, env: NodeJS.ProcessEnv = {}) {
  const result = orderVariantCandidates(listPrebuilds(prebuildDir(SERVER_SET)), LOCAL, env, probe);
  return {
    order: result.candidates.map((c) => c.variant ?? c.source),
    testLoad: result.candidates.filter((c) => c.testLoad).map((c) => c.variant),
    skipped: result.skipped,
  };
}

describe('machine probes', () => {
  it('reads the L4T release of a Jetson and maps it to JetPack', () => {
    const jp6 =
      '# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, EABI: aarch64, DATE: Wed Jan  8 01:49:37 UTC 2025\n';
    expect(parseTegraRelease(jp6)).toEqual({ l4t: 36, revision: '4.3', jetpack: 6 });
    expect(parseTegraRelease('# R35 (release), REVISION: 4.1, GCID: 33958178')?.jetpack).toBe(5);
    expect(parseTegraRelease('# R38 (release), REVISION: 2.0')?.jetpack).toBe(7);
    expect(parseTegraRelease('# R99 (release), REVISION: 1.0')?.jetpack).toBeNull();
    expect(parseTegraRelease('garbage')).toBeNull();
  });

  it('finds libnvinfer majors in `ldconfig -p` output', () => {
    const text = [
      "1234 libs found in cache `/etc/ld.so.cache'",
      '\tlibnvonnxparser.so.10 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libnvonnxparser.so.10',
      '\tlibnvinfer.so.10 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libnvinfer.so.10',
      '\tlibnvinfer.so.8 (libc6,x86-64) => /opt/trt8/libnvinfer.so.8',
      '\tlibnvinfer_plugin.so.10 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libnvinfer_plugin.so.10',
      '\tlibz.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libz.so.1',
    ].join('\n');
    const libs = parseLdconfig(text);
    expect(libs.has('libnvinfer.so.10')).toBe(true);
    expect(libs.has('libz.so.1')).toBe(true);
    expect(tensorRtMajors(libs)).toEqual([10, 8]);
  });
});

describe('orderVariantCandidates', () => {
  it('on a CPU-only machine: local build, then cpu, then cuda; TensorRT builds skipped with a fix', () => {
    const r = order(NOTHING);
    expect(r.order).toEqual(['local-build', 'cpu', 'cuda']);
    const trt10 = r.skipped.find((s) => s.variant === 'tensorrt10');
    expect(trt10?.reason).toMatch(/libnvinfer\.so\.10/);
    expect(trt10?.fix).toMatch(/install TensorRT 10/);
    expect(r.skipped.find((s) => s.variant === 'jetpack6')?.reason).toMatch(/not one/);
  });

  it('with TensorRT 10 and 8 installed: newest TensorRT first, test-loaded in a child', () => {
    const libs = new Set([
      'libnvinfer.so.10',
      'libnvonnxparser.so.10',
      'libnvinfer.so.8',
      'libnvonnxparser.so.8',
    ]);
    const r = order({ jetson: null, libraries: libs });
    expect(r.order).toEqual(['tensorrt10', 'tensorrt8', 'local-build', 'cpu', 'cuda']);
    expect(r.testLoad).toEqual(['tensorrt10', 'tensorrt8']);
  });

  it('a TensorRT build whose parser library is missing is skipped', () => {
    const r = order({ jetson: null, libraries: new Set(['libnvinfer.so.10']) });
    expect(r.order[0]).toBe('local-build');
    expect(r.skipped.find((s) => s.variant === 'tensorrt10')?.reason).toMatch(/libnvonnxparser\.so\.10/);
  });

  it('on a Jetson: the prebuild of its JetPack only, never a server build', () => {
    const jetson = { l4t: 36, revision: '4.3', jetpack: 6 };
    const r = order({ jetson, libraries: new Set(['libnvinfer.so.10', 'libnvonnxparser.so.10']) });
    expect(r.order).toEqual(['jetpack6', 'local-build', 'cpu', 'cuda']);
    expect(r.skipped.find((s) => s.variant === 'tensorrt10')?.reason).toMatch(/Jetson/);
    const jp5 = order({ jetson: { l4t: 35, revision: '4.1', jetpack: 5 }, libraries: new Set() });
    expect(jp5.order).toEqual(['local-build', 'cpu', 'cuda']);
    expect(jp5.skipped.find((s) => s.variant === 'jetpack6')?.reason).toMatch(/JetPack 6.*R35/);
  });

  it('YOLO_TRT_VARIANT forces one variant (or the local build) and nothing else', () => {
    expect(order(NOTHING, { YOLO_TRT_VARIANT: 'tensorrt10' }).order).toEqual(['tensorrt10']);
    expect(order(NOTHING, { YOLO_TRT_VARIANT: 'local' }).order).toEqual(['env']);
    const missing = order(NOTHING, { YOLO_TRT_VARIANT: 'jetpack7' });
    expect(missing.order).toEqual([]);
    expect(missing.skipped.some((s) => /no such prebuild/.test(s.reason) && /cpu/.test(s.fix))).toBe(true);
  });

  it('tries a .node without manifest after the known ones', () => {
    const dir = prebuildDir([manifest('cpu'), 'mystery']);
    const r = orderVariantCandidates(listPrebuilds(dir), LOCAL, {}, NOTHING);
    expect(r.candidates.map((c) => c.variant ?? c.source)).toEqual(['local-build', 'cpu', 'mystery']);
  });
});
