// The CUDA-built addon on a machine without an NVIDIA driver (CI, this box): it loads (cudart is static),
// says so in capabilities(), refuses an explicit 'tensorrt' request with a coded error, and 'auto' runs
// on the CPU. On a machine with a driver this file has nothing to check and skips.
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';

import { imagePath, modelPath } from '../helpers/assets.js';
import { cudaAddonPath, nvccAvailable } from '../helpers/cuda-addon.js';

const addon = cudaAddonPath();
// Before anything imports dist/native/load.js: this process loads exactly this addon.
process.env.YOLO_TRT_NATIVE_PATH = addon;

interface RawCaps {
  variant: string;
  cuda: {
    compiled: boolean;
    runtimeVersion: string | null;
    driver: string | null;
    devices: unknown[];
    error: string | null;
  };
  tensorrt: { compiled: boolean };
}
const raw = createRequire(import.meta.url)(addon) as {
  capabilities(): RawCaps;
  cudaTest?: {
    letterbox(images: unknown[], options: unknown): Promise<unknown>;
    postprocess(o: Float32Array, options: unknown): Promise<unknown>;
  };
};
const caps = raw.capabilities();
const noDriver = caps.cuda.compiled && caps.cuda.driver === null;

describe('the CUDA build on a machine without a driver', () => {
  it('is a CUDA build wherever nvcc is installed', () => {
    if (!nvccAvailable()) return; // nothing to build CUDA with: the CPU build is right
    expect(caps.cuda.compiled, `${addon} was built without CUDA although nvcc is installed`).toBe(true);
  });

  describe.skipIf(!noDriver)('no driver', () => {
    let lib: typeof import('../../dist/index.js');
    beforeAll(async () => {
      lib = await import('../../dist/index.js');
    });

    it('reports compiled CUDA, no driver, no devices, and why', () => {
      expect(caps.cuda.runtimeVersion).toMatch(/^\d+\.\d+$/);
      expect(caps.cuda.devices).toEqual([]);
      expect(caps.cuda.error).toMatch(/cudaErrorInsufficientDriver|no CUDA driver/);
      const pub = lib.capabilities();
      expect(pub.cuda.compiled).toBe(true);
      expect(pub.cuda.driver).toBeNull();
      expect(pub.backends.tensorrt.available).toBe(false);
      expect(pub.backends.tensorrt.reason).toMatch(/not compiled|no CUDA driver/);
      expect(pub.backends.cpu.available).toBe(true);
    });

    it("rejects backend 'tensorrt' with a coded error that says why", async () => {
      const err = await lib.Detector.create({ model: modelPath(), backend: 'tensorrt' }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(lib.YoloTrtError);
      const e = err as InstanceType<typeof lib.YoloTrtError>;
      // A CUDA-only build has no TensorRT at all; a TensorRT build has it but no driver.
      expect(e.code).toBe(caps.tensorrt.compiled ? 'ERR_NO_CUDA_DRIVER' : 'ERR_BACKEND_UNAVAILABLE');
      expect(e.message).toMatch(/tensorrt/i);
      expect(e.details?.reasons).toEqual([expect.stringMatching(/^tensorrt: /)]);
    });

    it("falls back to cpu under 'auto', says why, and detects", async () => {
      const detector = await lib.Detector.create({ model: modelPath(), backend: 'auto' });
      try {
        expect(detector.backend).toBe('cpu');
        expect(detector.backendChoice.reasons.join('\n')).toMatch(/^tensorrt: /m);
        const result = await detector.detect(imagePath('bus.jpg'));
        expect(result.detections.filter((d) => d.name === 'person')).toHaveLength(4);
      } finally {
        await detector.dispose();
      }
    });

    it('the CUDA kernels entry points reject with ERR_NO_CUDA_DRIVER instead of crashing', async () => {
      const cudaTest = raw.cudaTest;
      expect(cudaTest).toBeDefined();
      const image = { data: new Uint8Array(8 * 6 * 3), width: 8, height: 6, format: 'rgb' };
      await expect(
        cudaTest?.letterbox([image], { width: 32, height: 32, dtype: 'float32' }),
      ).rejects.toMatchObject({
        code: 'ERR_NO_CUDA_DRIVER',
        message: expect.stringMatching(/cudaErrorInsufficientDriver/),
      });
      const out = new Float32Array(1 * 6 * 10);
      const options = {
        dims: [1, 6, 10],
        conf: 0.25,
        iou: 0.7,
        maxDet: 300,
        agnostic: false,
        classes: null,
        inputWidth: 32,
        inputHeight: 32,
        origSizes: Int32Array.from([32, 32]),
      };
      await expect(cudaTest?.postprocess(out, options)).rejects.toMatchObject({ code: 'ERR_NO_CUDA_DRIVER' });
    });
  });
});
