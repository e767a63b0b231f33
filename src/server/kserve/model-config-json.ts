import { basename } from 'node:path';
import { DEFAULTS } from '../../options.js';
import type { ModelInstance } from '../model-instance.js';
import { OUTPUTS, inputMetadata } from './outputs.js';

/**
 * A model version's effective configuration in Triton's model-config field names (served by
 * `GET /v2/models/{m}/config` and, translated to protobuf, by gRPC ModelConfig).
 *
 * `max_batch_size` is 0 in Triton's sense: `dims` are the full tensor shapes, batch dimension included.
 * That is what the server accepts: `image_bytes` is a list of any number of images (`[-1]`) and the FP32
 * input any N (`[-1, 3, H, W]`); the server splits and merges them into the detector's runs itself (the
 * dynamic batcher), up to `parameters.batch_max_images` images per run.
 */

export const TRITON_TYPES: Readonly<Record<string, string>> = {
  BYTES: 'TYPE_STRING',
  FP32: 'TYPE_FP32',
  INT32: 'TYPE_INT32',
};

export interface TritonConfigJson {
  name: string;
  version: string;
  platform: string;
  backend: string;
  max_batch_size: 0;
  input: { name: string; data_type: string; format: string; dims: number[] }[];
  output: { name: string; data_type: string; dims: number[] }[];
  dynamic_batching: {
    enabled: boolean;
    max_queue_delay_microseconds: number;
    max_inflight_batches: number;
    default_queue_policy: { max_queue_size: number; default_timeout_microseconds: number };
  };
  instance_group: { count: number; kind: 'KIND_GPU' | 'KIND_CPU' }[];
  version_policy: unknown;
  parameters: Record<string, number | boolean | number[] | string[] | null>;
  model_file: string;
  imgsz: readonly [number, number];
  stride: number;
  /** End-to-end export (NMS inside the model): iou and agnostic have no effect. */
  end_to_end: boolean;
  labels: string[];
  loaded_at: string;
}

export function describeConfig(inst: ModelInstance): TritonConfigJson {
  const d = inst.detector;
  const info = d.model;
  const b = inst.batching;
  const c = inst.config;
  return {
    name: inst.name,
    version: inst.version,
    platform: `yolo-trt-${d.backend}`,
    backend: d.backend,
    max_batch_size: 0,
    input: inputMetadata(info.inputName, info.imgsz).map((t) => ({
      name: t.name,
      data_type: TRITON_TYPES[t.datatype]!,
      format: t.datatype === 'FP32' ? 'FORMAT_NCHW' : 'FORMAT_NONE',
      dims: t.shape,
    })),
    output: OUTPUTS.map((t) => ({ name: t.name, data_type: TRITON_TYPES[t.datatype]!, dims: t.shape })),
    dynamic_batching: {
      enabled: b.enabled,
      max_queue_delay_microseconds: Math.round(b.maxQueueDelayMs * 1000),
      max_inflight_batches: b.resolvedInflight,
      default_queue_policy: {
        max_queue_size: b.maxQueueSize,
        default_timeout_microseconds: Math.round(b.timeoutMs * 1000),
      },
    },
    instance_group: [{ count: d.concurrency, kind: d.backend === 'tensorrt' ? 'KIND_GPU' : 'KIND_CPU' }],
    version_policy: c.versionPolicy ?? { latest: 1 },
    parameters: {
      conf: c.conf ?? DEFAULTS.conf,
      iou: c.iou ?? DEFAULTS.iou,
      max_det: c.maxDet ?? DEFAULTS.maxDet,
      agnostic: c.agnostic ?? DEFAULTS.agnostic,
      classes: c.classes ?? null,
      // End-to-end models (NMS inside the model) ignore iou and agnostic.
      end_to_end: info.endToEnd,
      ignored_parameters: [...info.ignoredOptions],
      batch_max_images: b.resolvedMaxBatchSize,
      detector_max_batch: d.maxBatch,
      detector_concurrency: d.concurrency,
    },
    model_file: basename(info.path),
    imgsz: info.imgsz,
    stride: info.stride,
    end_to_end: info.endToEnd,
    labels: info.names,
    loaded_at: inst.loadedAt.toISOString(),
  };
}
