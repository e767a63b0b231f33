import { describe, expect, it } from 'vitest';

import { resolveTensorRtOptions } from '../../dist/backends/tensorrt-options.js';

const STATIC = { batch: 1, inputType: 'float32' as const };
const DYNAMIC = { batch: null, inputType: 'float32' as const };
const ENV = { YOLO_TRT_CACHE: '/tmp/yolo-trt-test-cache' };

describe('resolveTensorRtOptions', () => {
  it('defaults: fp16, the fixed batch, no profile, 2 contexts, TensorRT workspace default', () => {
    const r = resolveTensorRtOptions(STATIC, {}, ENV);
    expect(r).toMatchObject({
      precision: 'fp16',
      maxBatch: 1,
      profile: null,
      contexts: 2,
      device: 0,
      workspaceBytes: null,
      cacheDir: '/tmp/yolo-trt-test-cache',
      calibDir: null,
      rebuild: false,
    });
  });

  it('a dynamic batch gets an optimization profile 1..maxBatch', () => {
    expect(resolveTensorRtOptions(DYNAMIC, {}, ENV).profile).toEqual({ min: 1, opt: 8, max: 8 });
    const r = resolveTensorRtOptions(DYNAMIC, { maxBatch: 32, workspaceMb: 512 }, ENV);
    expect(r.profile).toEqual({ min: 1, opt: 32, max: 32 });
    expect(r.maxBatch).toBe(32);
    expect(r.workspaceBytes).toBe(512 * 1024 * 1024);
  });

  it('TensorRT 11 (strongly typed) defaults to the model own precision', () => {
    expect(resolveTensorRtOptions(STATIC, {}, ENV, true).precision).toBe('fp32');
    expect(resolveTensorRtOptions({ batch: 1, inputType: 'float16' }, {}, ENV, true).precision).toBe('fp16');
    expect(resolveTensorRtOptions(STATIC, { precision: 'int8' }, ENV, true).precision).toBe('int8');
  });

  it('refuses bad values with ERR_INVALID_OPTION naming the option', () => {
    const cases: [Parameters<typeof resolveTensorRtOptions>[1], RegExp][] = [
      [{ precision: 'fp8' as never }, /tensorrt\.precision/],
      [{ maxBatch: 4 }, /fixed batch.*tensorrt\.maxBatch/],
      [{ contexts: 0 }, /tensorrt\.contexts/],
      [{ workspaceMb: 1.5 }, /tensorrt\.workspaceMb/],
      [{ device: -1 }, /tensorrt\.device/],
      [{ calibDir: '' }, /tensorrt\.calibDir/],
    ];
    for (const [options, message] of cases) {
      expect(() => resolveTensorRtOptions(STATIC, options, ENV)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTION', message: expect.stringMatching(message) }),
      );
    }
  });
});
