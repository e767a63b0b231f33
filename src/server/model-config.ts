import { invalidOption } from '../errors.js';
import { parseCandidateConfig, type CandidateConfig } from './candidate-config.js';
import { isObject, num, unknownKeys } from './config-values.js';
import type { BackendRequest, CpuOptions } from '../options.js';
import { DEFAULT_BATCHING, type BatchingConfig } from './model-instance.js';

/**
 * How one model is served. The same JSON shape is read from the --config file (per model and as
 * defaults), from `<repository>/<model>/config.json`, and from the `parameters.config` string of a
 * repository load request (Triton's way of passing a config with load). Later sources override earlier
 * ones field by field.
 */
export interface ModelConfig {
  backend?: BackendRequest;
  /** File name inside each version directory of the repository (Triton: default_model_filename). */
  modelFilename?: string;
  /** Which versions of a repository model are served: the newest N (default 1), all, or a list. */
  versionPolicy?: VersionPolicy;
  conf?: number;
  iou?: number;
  maxDet?: number;
  classes?: number[];
  agnostic?: boolean;
  /** Network input size (640 or [height, width]) for models exported with dynamic height/width. */
  imgsz?: number | [number, number];
  cpu?: CpuOptions;
  preprocessThreads?: number;
  batching?: Partial<BatchingConfig>;
  /** A version tried in shadow or canary against the primary (candidate-config.ts); null: none. */
  candidate?: CandidateConfig | null;
}

export type VersionPolicy = { latest: number } | { all: true } | { specific: string[] };

export const DEFAULT_MODEL_FILENAME = 'model.onnx';

const MODEL_KEYS = [
  'backend',
  'modelFilename',
  'versionPolicy',
  'conf',
  'iou',
  'maxDet',
  'classes',
  'agnostic',
  'imgsz',
  'cpu',
  'preprocessThreads',
  'batching',
  'candidate',
] as const;

/** Validates one model config; `where` names it in messages ("config.json of model 'x'"). */
export function parseModelConfig(
  value: unknown,
  where: string,
  extraKeys: readonly string[] = [],
): ModelConfig {
  if (!isObject(value)) throw invalidOption(where, 'a JSON object', value);
  unknownKeys(where, value, [...MODEL_KEYS, ...extraKeys]);
  const c: ModelConfig = {};
  if (value.backend !== undefined) {
    if (!['auto', 'cpu', 'tensorrt'].includes(value.backend as string)) {
      throw invalidOption(`${where}.backend`, "one of 'auto', 'cpu', 'tensorrt'", value.backend);
    }
    c.backend = value.backend as BackendRequest;
  }
  if (value.modelFilename !== undefined) {
    if (typeof value.modelFilename !== 'string' || value.modelFilename.length === 0) {
      throw invalidOption(`${where}.modelFilename`, 'a file name', value.modelFilename);
    }
    c.modelFilename = value.modelFilename;
  }
  if (value.versionPolicy !== undefined)
    c.versionPolicy = parseVersionPolicy(value.versionPolicy, `${where}.versionPolicy`);
  c.conf = num(`${where}.conf`, value.conf, 0, 1);
  c.iou = num(`${where}.iou`, value.iou, 0, 1);
  c.maxDet = num(`${where}.maxDet`, value.maxDet, 1, 30_000, true);
  if (value.classes !== undefined) {
    if (!Array.isArray(value.classes))
      throw invalidOption(`${where}.classes`, 'an array of class ids', value.classes);
    c.classes = value.classes.map((k, i) => num(`${where}.classes[${i}]`, k, 0, 1_000_000, true)!);
  }
  if (value.agnostic !== undefined) {
    if (typeof value.agnostic !== 'boolean')
      throw invalidOption(`${where}.agnostic`, 'a boolean', value.agnostic);
    c.agnostic = value.agnostic;
  }
  if (value.imgsz !== undefined) {
    const sizes = Array.isArray(value.imgsz) ? value.imgsz : [value.imgsz];
    if (sizes.length < 1 || sizes.length > 2) {
      throw invalidOption(`${where}.imgsz`, 'a size such as 640 or [height, width]', value.imgsz);
    }
    const checked = sizes.map((v, i) =>
      num(Array.isArray(value.imgsz) ? `${where}.imgsz[${i}]` : `${where}.imgsz`, v, 1, 65_536, true)!,
    );
    c.imgsz = checked.length === 1 ? checked[0]! : [checked[0]!, checked[1]!];
  }
  if (value.cpu !== undefined) {
    if (!isObject(value.cpu)) throw invalidOption(`${where}.cpu`, 'an object', value.cpu);
    unknownKeys(`${where}.cpu`, value.cpu, [
      'workers',
      'intraOpThreads',
      'interOpThreads',
      'maxBatch',
      'spinning',
    ]);
    if (value.cpu.spinning !== undefined && typeof value.cpu.spinning !== 'boolean') {
      throw invalidOption(`${where}.cpu.spinning`, 'true or false', value.cpu.spinning);
    }
    c.cpu = dropUndefined({
      workers: num(`${where}.cpu.workers`, value.cpu.workers, 1, 64, true),
      intraOpThreads: num(`${where}.cpu.intraOpThreads`, value.cpu.intraOpThreads, 1, 1024, true),
      interOpThreads: num(`${where}.cpu.interOpThreads`, value.cpu.interOpThreads, 1, 1024, true),
      maxBatch: num(`${where}.cpu.maxBatch`, value.cpu.maxBatch, 1, 1024, true),
      spinning: value.cpu.spinning,
    });
  }
  c.preprocessThreads = num(`${where}.preprocessThreads`, value.preprocessThreads, 1, 256, true);
  if (value.batching !== undefined) c.batching = parseBatching(value.batching, `${where}.batching`);
  if (value.candidate !== undefined)
    c.candidate = parseCandidateConfig(value.candidate, `${where}.candidate`);
  return dropUndefined(c);
}

function parseVersionPolicy(v: unknown, where: string): VersionPolicy {
  if (isObject(v) && Object.keys(v).length === 1) {
    if (v.latest !== undefined) return { latest: num(`${where}.latest`, v.latest, 1, 1_000_000, true)! };
    if (v.all === true) return { all: true };
    if (Array.isArray(v.specific) && v.specific.length > 0) {
      return {
        specific: v.specific.map((x, i) => {
          const s = typeof x === 'number' ? String(x) : x;
          if (typeof s !== 'string' || !/^[0-9]{1,18}$/.test(s)) {
            throw invalidOption(`${where}.specific[${i}]`, 'a version number', x);
          }
          return String(Number(s));
        }),
      };
    }
  }
  throw invalidOption(where, '{ "latest": N } or { "all": true } or { "specific": [versions] }', v);
}

function parseBatching(v: unknown, where: string): Partial<BatchingConfig> {
  if (!isObject(v)) throw invalidOption(where, 'an object', v);
  unknownKeys(where, v, Object.keys(DEFAULT_BATCHING));
  const b: Partial<BatchingConfig> = {};
  if (v.enabled !== undefined) {
    if (typeof v.enabled !== 'boolean') throw invalidOption(`${where}.enabled`, 'a boolean', v.enabled);
    b.enabled = v.enabled;
  }
  b.maxBatchSize = num(`${where}.maxBatchSize`, v.maxBatchSize, 0, 1024, true);
  b.maxQueueDelayMs = num(`${where}.maxQueueDelayMs`, v.maxQueueDelayMs, 0, 60_000);
  b.maxQueueSize = num(`${where}.maxQueueSize`, v.maxQueueSize, 1, 1_000_000, true);
  b.timeoutMs = num(`${where}.timeoutMs`, v.timeoutMs, 0, 3_600_000);
  b.maxInflightBatches = num(`${where}.maxInflightBatches`, v.maxInflightBatches, 0, 1024, true);
  return dropUndefined(b);
}

function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** Field-by-field merge; nested `cpu` and `batching` merge too; a `candidate` replaces the earlier one whole. */
export function mergeModelConfig(...configs: (ModelConfig | undefined)[]): ModelConfig {
  const out: ModelConfig = {};
  for (const c of configs) {
    if (c === undefined) continue;
    const { cpu, batching, ...rest } = c;
    Object.assign(out, rest);
    if (cpu !== undefined) out.cpu = { ...out.cpu, ...cpu };
    if (batching !== undefined) out.batching = { ...out.batching, ...batching };
  }
  return out;
}

export function resolveBatching(c: ModelConfig): BatchingConfig {
  return { ...DEFAULT_BATCHING, ...c.batching };
}

/** Applies a version policy to the versions found (numeric strings); newest first. */
export function selectVersions(available: readonly string[], policy: VersionPolicy | undefined): string[] {
  const sorted = [...available].sort((a, b) => Number(b) - Number(a));
  const p = policy ?? { latest: 1 };
  if ('latest' in p) return sorted.slice(0, p.latest);
  if ('all' in p) return sorted;
  return sorted.filter((v) => p.specific.includes(v));
}
