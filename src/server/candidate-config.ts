import { invalidOption } from '../errors.js';
import { DEFAULT_ROLLBACK, type RollbackThresholds } from '../monitoring/agreement.js';
import { isObject, num, unknownKeys } from './config-values.js';
import { HttpError } from './http-errors.js';

/**
 * The `candidate` of a model's config: a version that is tried against the primary before it takes
 * over. Read from the same places as the rest of the model config (repository config.json, the server
 * config file per model, a load's `parameters.config`):
 *
 *   "candidate": { "version": "2", "mode": "shadow" | "canary", "weight": 0.1,
 *                  "maxInflight": 8, "window": 500,
 *                  "rollback": { "minF1": 0.8, "maxErrorRate": 0.05, "maxLatencyRatio": 3, "minPairs": 50 } }
 *
 * `null` removes a candidate named by an earlier source (a load's config over config.json).
 */
export type CandidateMode = 'shadow' | 'canary';

export interface CandidateConfig {
  /** The candidate version (a version directory the version policy serves). */
  version: string;
  mode: CandidateMode;
  /**
   * Share of unversioned requests sent to the candidate, 0..1: canary answers that share (default
   * 0.1); shadow mirrors it (default 1, every request).
   */
  weight: number;
  /** Shadow and comparison runs in flight at once for this model; more are dropped (default 8). */
  maxInflight: number;
  /** Image pairs in the agreement window (default 500). */
  window: number;
  rollback: RollbackThresholds;
  /** Models served from a file (--model / the server config file): the candidate's own ONNX file. */
  path?: string;
}

export const CANDIDATE_MODES: readonly CandidateMode[] = ['shadow', 'canary'];
export const DEFAULT_CANARY_WEIGHT = 0.1;
export const DEFAULT_MAX_INFLIGHT = 8;
export const DEFAULT_WINDOW = 500;
/** File models: the candidate file is served as this version when none is named. */
export const FILE_CANDIDATE_VERSION = '2';

const KEYS = ['version', 'mode', 'weight', 'maxInflight', 'window', 'rollback'];
const ROLLBACK_KEYS = ['minF1', 'maxErrorRate', 'maxLatencyRatio', 'minPairs'];

/**
 * Validates the shape of a candidate config (ERR_INVALID_OPTION, a 400 over HTTP). `path` is taken
 * only where the caller allows it (file models); whether the version is served is checked at load.
 */
export function parseCandidateConfig(
  value: unknown,
  where: string,
  options: { path?: string } = {},
): CandidateConfig | null {
  if (value === null) return null;
  if (!isObject(value))
    throw invalidOption(where, 'an object { version, mode, weight, rollback } or null', value);
  unknownKeys(where, value, KEYS);
  if (!CANDIDATE_MODES.includes(value.mode as CandidateMode)) {
    throw invalidOption(`${where}.mode`, "'shadow' or 'canary'", value.mode);
  }
  const mode = value.mode as CandidateMode;
  let version: string;
  const v = typeof value.version === 'number' ? String(value.version) : value.version;
  if (v === undefined && options.path !== undefined) version = FILE_CANDIDATE_VERSION;
  else if (typeof v === 'string' && /^[0-9]{1,18}$/.test(v)) version = String(Number(v));
  else throw invalidOption(`${where}.version`, 'a version number such as "2"', value.version);
  const weight =
    num(`${where}.weight`, value.weight, 0, 1) ?? (mode === 'canary' ? DEFAULT_CANARY_WEIGHT : 1);
  const r = value.rollback ?? {};
  if (!isObject(r)) throw invalidOption(`${where}.rollback`, 'an object', r);
  unknownKeys(`${where}.rollback`, r, ROLLBACK_KEYS);
  const rollback: RollbackThresholds = {
    minF1: num(`${where}.rollback.minF1`, r.minF1, 0, 1) ?? DEFAULT_ROLLBACK.minF1,
    maxErrorRate:
      num(`${where}.rollback.maxErrorRate`, r.maxErrorRate, 0, 1) ?? DEFAULT_ROLLBACK.maxErrorRate,
    maxLatencyRatio:
      num(`${where}.rollback.maxLatencyRatio`, r.maxLatencyRatio, 0, 1e6) ?? DEFAULT_ROLLBACK.maxLatencyRatio,
    minImages:
      num(`${where}.rollback.minPairs`, r.minPairs, 1, 1_000_000, true) ?? DEFAULT_ROLLBACK.minImages,
  };
  const window = num(`${where}.window`, value.window, 1, 1_000_000, true) ?? DEFAULT_WINDOW;
  if (window < rollback.minImages) {
    throw invalidOption(`${where}.window`, `at least rollback.minPairs (${rollback.minImages})`, window);
  }
  return {
    version,
    mode,
    weight,
    maxInflight: num(`${where}.maxInflight`, value.maxInflight, 1, 1024, true) ?? DEFAULT_MAX_INFLIGHT,
    window,
    rollback,
    ...(options.path === undefined ? {} : { path: options.path }),
  };
}

/**
 * Checks a candidate against the versions a load is about to serve: the candidate must be one of them
 * and there must be another one to be the primary. 400 ERR_CANDIDATE_INVALID: the load fails and the
 * serving versions stay as they were.
 */
export function checkCandidateVersions(
  model: string,
  candidate: CandidateConfig,
  versions: readonly string[],
): void {
  const list = [...versions].sort((a, b) => Number(a) - Number(b)).join(', ') || 'none';
  if (!versions.includes(candidate.version)) {
    throw new HttpError(
      400,
      'ERR_CANDIDATE_INVALID',
      `candidate version ${candidate.version} of model '${model}' is not served (serving: ${list}); the version policy must include it`,
    );
  }
  if (versions.length < 2) {
    throw new HttpError(
      400,
      'ERR_CANDIDATE_INVALID',
      `candidate version ${candidate.version} of model '${model}' would be its only version: a candidate needs a primary to be compared with (serve two versions, e.g. versionPolicy { "latest": 2 })`,
    );
  }
}
