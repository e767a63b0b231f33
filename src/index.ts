/** yolo-trt public API. Everything a user imports comes from here. */
export {
  Detector,
  type BackendChoice,
  type SettledResult,
  type StreamOptions,
  type TrackOptions,
} from './detector.js';
export type { DetectOptions, DetectorOptions, CpuOptions, BackendRequest } from './options.js';
export { DEFAULTS } from './options.js';
export type { DetectResult, Detection, Speed } from './results.js';
export { Results, type ResultsContext } from './results/results.js';
export { Boxes } from './results/boxes.js';
export type { PlotOptions, OutputFormat } from './results/plot.js';
export { YoloTrtError, isYoloTrtError, type ErrorCode } from './errors.js';
export { capabilities, type Capabilities } from './capabilities.js';
export {
  decodeImage,
  DEFAULT_LIMIT_INPUT_PIXELS,
  DEFAULT_MAX_FILE_BYTES,
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
export { VAL_DEFAULTS, type ValOptions, type ValResult, type ValClassRow } from './val/validate.js';
export type { SourceOptions, SourceItem } from './sources/iterate.js';
export type { FetchLimits } from './sources/url.js';
export { ByteTracker, TRACKER_DEFAULTS, type TrackerOptions } from './track/byte-tracker.js';
export type { ImageStats } from './results.js';
export * from './monitoring/index.js';
