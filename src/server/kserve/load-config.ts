import { isYoloTrtError } from '../../errors.js';
import { badRequest } from '../http-errors.js';
import { mergeModelConfig, parseModelConfig, type ModelConfig } from '../model-config.js';
import { isObject } from '../config-values.js';

/**
 * The `config` parameter of a repository load (HTTP `parameters.config`, gRPC `parameters["config"]`):
 * a JSON string holding yolo-trt model settings (docs/serving.md), Triton model-config JSON, or both
 * mixed. Triton's fields are mapped where they mean something here:
 *
 *   max_batch_size N > 0                      -> batching.maxBatchSize (images per run; 0 = automatic)
 *   dynamic_batching { }                      -> batching on (absent with Triton fields: each request alone)
 *     .max_queue_delay_microseconds           -> batching.maxQueueDelayMs
 *     .preferred_batch_size                   -> accepted; batches are as large as what is queued
 *     .default_queue_policy.max_queue_size    -> batching.maxQueueSize
 *     .default_queue_policy.default_timeout_microseconds -> batching.timeoutMs
 *   instance_group [{ count, kind }]          -> KIND_CPU/KIND_AUTO: cpu.workers = count;
 *                                                KIND_GPU (count 1): backend tensorrt
 *   parameters { conf|iou|max_det|agnostic|classes: { string_value } } -> thresholds
 *   version_policy { latest | all | specific } -> versionPolicy
 *   name (must be the model's), platform/backend (onnxruntime*, tensorrt*) -> backend
 *
 * Anything else (input/output, sequence_batching, optimization, ...) is refused naming the field:
 * tensors are fixed by the model and the server's own pre/post-processing.
 */

const TRITON_KEYS = [
  'name',
  'platform',
  'backend',
  'max_batch_size',
  'dynamic_batching',
  'instance_group',
  'parameters',
  'version_policy',
];
const YOLO_KEYS = [
  'backend',
  'modelFilename',
  'versionPolicy',
  'conf',
  'iou',
  'maxDet',
  'classes',
  'agnostic',
  'cpu',
  'preprocessThreads',
  'batching',
  'candidate',
];

export function parseLoadConfig(config: string | undefined, model: string): ModelConfig | undefined {
  if (config === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(config);
  } catch (err) {
    throw badRequest(`parameters.config is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(json)) throw badRequest('parameters.config must be a JSON object');
  const ours: Record<string, unknown> = {};
  const triton: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) {
    if (k === 'backend' && ['auto', 'cpu', 'tensorrt'].includes(v as string)) ours[k] = v;
    else if (TRITON_KEYS.includes(k)) triton[k] = v;
    else if (YOLO_KEYS.includes(k)) ours[k] = v;
    else {
      throw badRequest(
        `parameters.config.${k.slice(0, 64)} is not supported: yolo-trt takes its own model settings (${YOLO_KEYS.join(', ')}) or Triton's ${TRITON_KEYS.join(', ')}; tensors are fixed by the model`,
      );
    }
  }
  let own: ModelConfig;
  try {
    own = parseModelConfig(ours, 'parameters.config');
  } catch (err) {
    if (isYoloTrtError(err)) throw badRequest(err.message);
    throw err;
  }
  if (Object.keys(triton).length === 0) return own;
  return mergeModelConfig(fromTriton(triton, model), own);
}

function int(where: string, v: unknown, min: number, max: number): number {
  // Triton's JSON (protobuf's JSON mapping) writes 64-bit integers as strings.
  const n = typeof v === 'string' && /^[0-9]{1,16}$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw badRequest(
      `Expected an integer between ${min} and ${max} for parameters.config.${where} but received ${JSON.stringify(v)}`,
    );
  }
  return n;
}

function only(where: string, v: unknown, keys: readonly string[]): Record<string, unknown> {
  if (!isObject(v)) throw badRequest(`Expected an object for parameters.config.${where}`);
  for (const k of Object.keys(v)) {
    if (!keys.includes(k)) {
      throw badRequest(
        `parameters.config.${where}.${k.slice(0, 64)} is not supported (supported: ${keys.join(', ')})`,
      );
    }
  }
  return v;
}

function fromTriton(t: Record<string, unknown>, model: string): ModelConfig {
  const c: ModelConfig = {};
  if (t.name !== undefined && t.name !== model) {
    throw badRequest(
      `parameters.config.name is '${String(t.name).slice(0, 64)}' but the model loaded is '${model}'`,
    );
  }
  for (const key of ['platform', 'backend'] as const) {
    const v = t[key];
    if (v === undefined) continue;
    if (typeof v === 'string' && /^onnxruntime/.test(v)) c.backend = 'cpu';
    else if (typeof v === 'string' && /^tensorrt/.test(v)) c.backend = 'tensorrt';
    else {
      throw badRequest(
        `parameters.config.${key} '${String(v).slice(0, 64)}' is not supported: onnxruntime (CPU) or tensorrt`,
      );
    }
  }
  const batching: NonNullable<ModelConfig['batching']> = {};
  if (t.max_batch_size !== undefined) {
    const n = int('max_batch_size', t.max_batch_size, 0, 1024);
    if (n > 0) batching.maxBatchSize = n;
  }
  if (t.dynamic_batching === undefined) {
    if (t.max_batch_size !== undefined) batching.enabled = false;
  } else {
    const d = only('dynamic_batching', t.dynamic_batching, [
      'max_queue_delay_microseconds',
      'preferred_batch_size',
      'default_queue_policy',
    ]);
    batching.enabled = true;
    if (d.max_queue_delay_microseconds !== undefined) {
      batching.maxQueueDelayMs =
        int('dynamic_batching.max_queue_delay_microseconds', d.max_queue_delay_microseconds, 0, 60_000_000) /
        1000;
    }
    if (d.preferred_batch_size !== undefined) {
      if (!Array.isArray(d.preferred_batch_size)) {
        throw badRequest(
          'Expected a list of sizes for parameters.config.dynamic_batching.preferred_batch_size',
        );
      }
      d.preferred_batch_size.forEach((s, i) =>
        int(`dynamic_batching.preferred_batch_size[${i}]`, s, 1, 1024),
      );
    }
    if (d.default_queue_policy !== undefined) {
      const q = only('dynamic_batching.default_queue_policy', d.default_queue_policy, [
        'max_queue_size',
        'default_timeout_microseconds',
      ]);
      if (q.max_queue_size !== undefined) {
        batching.maxQueueSize = int(
          'dynamic_batching.default_queue_policy.max_queue_size',
          q.max_queue_size,
          1,
          1_000_000,
        );
      }
      if (q.default_timeout_microseconds !== undefined) {
        batching.timeoutMs =
          int(
            'dynamic_batching.default_queue_policy.default_timeout_microseconds',
            q.default_timeout_microseconds,
            0,
            3_600_000_000,
          ) / 1000;
      }
    }
  }
  if (Object.keys(batching).length > 0) c.batching = batching;
  if (t.instance_group !== undefined) {
    if (!Array.isArray(t.instance_group) || t.instance_group.length !== 1) {
      throw badRequest('Expected one group in parameters.config.instance_group');
    }
    const g = only('instance_group[0]', t.instance_group[0], ['name', 'count', 'kind']);
    const count = g.count === undefined ? 1 : int('instance_group[0].count', g.count, 1, 64);
    const kind = g.kind ?? 'KIND_AUTO';
    if (kind === 'KIND_CPU' || kind === 'KIND_AUTO') {
      c.cpu = { workers: count };
      if (kind === 'KIND_CPU') c.backend = 'cpu';
    } else if (kind === 'KIND_GPU' && count === 1) c.backend = 'tensorrt';
    else {
      throw badRequest(
        `parameters.config.instance_group[0] ${String(kind).slice(0, 32)} x ${count} is not supported: KIND_CPU/KIND_AUTO with any count (CPU workers), or KIND_GPU with count 1`,
      );
    }
  }
  if (t.parameters !== undefined) {
    const p = only('parameters', t.parameters, ['conf', 'iou', 'max_det', 'agnostic', 'classes']);
    const value = (k: string): string => {
      const e = p[k];
      if (isObject(e) && typeof e.string_value === 'string') return e.string_value;
      throw badRequest(`Expected { "string_value": "..." } for parameters.config.parameters.${k}`);
    };
    const mapped: Record<string, unknown> = {};
    if (p.conf !== undefined) mapped.conf = Number(value('conf'));
    if (p.iou !== undefined) mapped.iou = Number(value('iou'));
    if (p.max_det !== undefined) mapped.maxDet = Number(value('max_det'));
    if (p.agnostic !== undefined) mapped.agnostic = value('agnostic') === 'true';
    if (p.classes !== undefined) mapped.classes = value('classes').split(',').map(Number);
    try {
      Object.assign(c, parseModelConfig(mapped, 'parameters.config.parameters'));
    } catch (err) {
      if (isYoloTrtError(err)) throw badRequest(err.message);
      throw err;
    }
  }
  if (t.version_policy !== undefined) {
    const v = only('version_policy', t.version_policy, ['latest', 'all', 'specific']);
    if (isObject(v.latest)) {
      c.versionPolicy = {
        latest: int('version_policy.latest.num_versions', v.latest.num_versions ?? 1, 1, 1_000_000),
      };
    } else if (v.all !== undefined) c.versionPolicy = { all: true };
    else if (isObject(v.specific) && Array.isArray(v.specific.versions) && v.specific.versions.length > 0) {
      c.versionPolicy = {
        specific: v.specific.versions.map((x, i) =>
          String(int(`version_policy.specific.versions[${i}]`, x, 0, 1e15)),
        ),
      };
    } else throw badRequest('parameters.config.version_policy: expected latest, all or specific');
  }
  return c;
}
