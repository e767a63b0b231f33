import type { ModelInfo } from '../model/types.js';
import type { CpuOptions } from '../options.js';
import type { Backend, BackendName } from './backend.js';
import { createOnnxRuntimeBackend } from './onnxruntime.js';
import { createTensorRtBackend, type TensorRtOptions } from './tensorrt.js';

export interface BackendFactoryOptions {
  cpu: CpuOptions;
  preprocessThreads: number | undefined;
  signal?: AbortSignal | undefined;
  /** TensorRT engine options (precision, maxBatch, contexts, cacheDir, ...); defaults when absent. */
  tensorrt?: TensorRtOptions | undefined;
}

/** Creates one named backend for a model. */
export async function createBackend(
  name: BackendName,
  model: ModelInfo,
  options: BackendFactoryOptions,
): Promise<Backend> {
  switch (name) {
    case 'cpu':
      return createOnnxRuntimeBackend(model, {
        ...options.cpu,
        preprocessThreads: options.preprocessThreads,
      });
    case 'tensorrt':
      return createTensorRtBackend(model, options.tensorrt ?? {}, { signal: options.signal });
  }
}
