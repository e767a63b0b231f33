/** yolo-trt public API. Everything a user imports comes from here. */
export { Detector, type BackendChoice, type SettledResult } from './detector.js';
export type { DetectOptions, DetectorOptions, CpuOptions, BackendRequest } from './options.js';
export { DEFAULTS } from './options.js';
export type { DetectResult, Detection, Speed } from './results.js';
export { YoloTrtError, isYoloTrtError, type ErrorCode } from './errors.js';
export { capabilities, type Capabilities } from './capabilities.js';
export {
  decodeImage,
  DEFAULT_LIMIT_INPUT_PIXELS,
  type ImageInput,
  type DecodedImage,
} from './image/decode.js';
export type { RawImageInput } from './image/raw-input.js';
export type { PixelFormat, NativeCapabilities } from './native/binding.js';
export type { ModelInfo, YoloTask } from './model/types.js';
export type { BackendName } from './backends/backend.js';
export {
  createServer,
  yoloTrtPlugin,
  type ServerOptions,
  type ServedModelSpec,
  type ModelConfig,
  type YoloTrtPluginOptions,
  type GrpcServerOptions,
} from './server/public.js';
