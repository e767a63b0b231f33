import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import {
  planKey,
  planKeyText,
  sha256File,
  sha256Hex,
  type PlanKeyInputs,
} from '../../dist/engine-cache/key.js';

const BASE: PlanKeyInputs = {
  onnxSha256: sha256Hex('model bytes'),
  tensorrtVersion: '10.3.0',
  cudaRuntimeVersion: '12.6',
  cudaDriverVersion: '12.6',
  gpuName: 'Orin',
  computeCapability: '8.7',
  precision: 'fp16',
  profile: { min: 1, opt: 8, max: 8 },
  workspaceBytes: null,
  calibrationSha256: null,
};

describe('planKey', () => {
  it('is a stable sha256 of the inputs', () => {
    const key = planKey(BASE);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(planKey({ ...BASE })).toBe(key);
    // Absent optional field == null (no field can make two keys for one build).
    const { calibrationSha256: _omit, ...withoutCalibration } = BASE;
    expect(planKey(withoutCalibration)).toBe(key);
  });

  it('changes with every input that changes the plan', () => {
    const key = planKey(BASE);
    const variations: Partial<PlanKeyInputs>[] = [
      { onnxSha256: sha256Hex('other model') },
      { tensorrtVersion: '10.3.1' },
      { cudaRuntimeVersion: '12.8' },
      { cudaDriverVersion: '12.8' },
      { gpuName: 'NVIDIA H100 80GB HBM3' },
      { computeCapability: '9.0' },
      { precision: 'fp32' },
      { precision: 'int8' },
      { profile: null },
      { profile: { min: 1, opt: 4, max: 8 } },
      { profile: { min: 2, opt: 8, max: 8 } },
      { profile: { min: 1, opt: 8, max: 16 } },
      { workspaceBytes: 1 << 30 },
      { calibrationSha256: sha256Hex('calib') },
      { inputSize: [640, 640] },
      { inputSize: [480, 640] },
    ];
    const keys = new Set([key]);
    for (const v of variations) keys.add(planKey({ ...BASE, ...v }));
    expect(keys.size).toBe(variations.length + 1);
  });

  it('a fixed-size model (inputSize null) keeps the key it had before inputSize existed', () => {
    expect(planKey({ ...BASE, inputSize: null })).toBe(planKey(BASE));
  });

  it('does not let one field shadow another', () => {
    // Moving text between fields must not give the same canonical text.
    const a = planKeyText({ ...BASE, gpuName: 'A', computeCapability: 'B C' });
    const b = planKeyText({ ...BASE, gpuName: 'A B', computeCapability: 'C' });
    expect(a).not.toBe(b);
  });

  it('refuses malformed inputs with ERR_INVALID_OPTION', () => {
    const bad: Partial<PlanKeyInputs>[] = [
      { onnxSha256: 'abc' },
      { gpuName: '' },
      { precision: 'fp8' as never },
      { profile: { min: 4, opt: 2, max: 8 } },
      { profile: { min: 0, opt: 1, max: 1 } },
      { workspaceBytes: -1 },
      { calibrationSha256: 'xyz' },
    ];
    for (const v of bad) {
      expect(() => planKey({ ...BASE, ...v })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTION' }),
      );
    }
  });
});

describe('sha256File', () => {
  it('hashes a file like sha256Hex hashes its bytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'yolo-trt-key-'));
    const file = join(dir, 'm.onnx');
    const bytes = Buffer.alloc(3 * 1024 * 1024 + 7, 0x5a); // several stream chunks
    writeFileSync(file, bytes);
    expect(await sha256File(file)).toBe(sha256Hex(bytes));
  });
});
