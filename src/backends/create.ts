import { YoloTrtError } from '../errors.js';
import type { ModelInfo } from '../model/types.js';
import type { CpuOptions } from '../options.js';
import type { Backend, BackendName } from './backend.js';
import { createOnnxRuntimeBackend } from './onnxruntime.js';

export interface BackendFactoryOptions {
  cpu: CpuOptions;
  preprocessThreads: number | undefined;
  signal?: AbortSignal | undefined;
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
      throw new YoloTrtError('ERR_BACKEND_UNAVAILABLE', 'the TensorRT backend is not part of this build');
  }
}
