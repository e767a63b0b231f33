import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { YoloTrtError, invalidOption } from '../errors.js';
import type { ServedModelSpec } from './app.js';
import type { ServerDriftOptions } from './drift-service.js';
import type { ServerCaptureOptions } from './capture-service.js';
import type { ServerLimits } from './context.js';
import { parseCandidateConfig } from './candidate-config.js';
import { isObject } from './config-values.js';
import { parseModelConfig, type ModelConfig } from './model-config.js';

/**
 * The `--config FILE` of `yolo-trt serve`: JSON with every serve flag plus per-model settings.
 *
 *   {
 *     "host": "127.0.0.1", "port": 8000, "token": "...", "modelRepository": "models/",
 *     "models": { "yolo11n": { "path": "yolo11n.onnx", "conf": 0.3, "batching": { "maxQueueDelayMs": 2 } } },
 *     "defaults": { "backend": "auto", "cpu": { "workers": 2 } },
 *     "limits": { "bodyLimit": 33554432, "maxInputPixels": 67108864, "maxImagesPerRequest": 64,
 *                 "requestTimeoutMs": 60000, "headersTimeoutMs": 10000, "maxConnections": 1024 },
 *     "logLevel": "info", "demoPage": true,
 *     "drift": { "references": { "yolo11n": "profile.json" }, "window": 500, "windowMs": 3600000,
 *                "minWindow": 25, "alpha": 0.05, "thresholds": { "warn": 0.1, "alert": 0.25 },
 *                "featureThresholds": { "sharpness": { "alert": 0.5 } } }
 *   }
 *
 * Relative paths are relative to the config file. Command-line flags win over the file.
 */
export interface ServeFileConfig {
  host?: string;
  port?: number;
  token?: string;
  modelRepository?: string;
  models: ServedModelSpec[];
  defaults?: ModelConfig;
  limits?: Partial<ServerLimits>;
  logLevel?: string;
  demoPage?: boolean;
  drift?: ServerDriftOptions;
  capture?: ServerCaptureOptions;
}

const TOP_KEYS = [
  'host',
  'port',
  'token',
  'modelRepository',
  'models',
  'defaults',
  'limits',
  'logLevel',
  'demoPage',
  'drift',
  'capture',
];
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export async function readServeConfig(file: string): Promise<ServeFileConfig> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new YoloTrtError('ERR_INVALID_OPTION', `Cannot read --config ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseServeConfig(json, path.dirname(path.resolve(file)), `--config ${file}`);
}

export function parseServeConfig(json: unknown, baseDir: string, where: string): ServeFileConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw invalidOption(where, 'a JSON object', json);
  const o = json as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!TOP_KEYS.includes(k)) throw invalidOption(`${where}: key`, `one of ${TOP_KEYS.join(', ')}`, k);
  const out: ServeFileConfig = { models: [] };
  const str = (k: string): string | undefined => {
    const v = o[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') throw invalidOption(`${where}: ${k}`, 'a non-empty string', v);
    return v;
  };
  out.host = str('host');
  out.token = str('token');
  const repo = str('modelRepository');
  if (repo !== undefined) out.modelRepository = path.resolve(baseDir, repo);
  if (o.port !== undefined) {
    if (typeof o.port !== 'number' || !Number.isInteger(o.port) || o.port < 0 || o.port > 65535) {
      throw invalidOption(`${where}: port`, 'an integer between 0 and 65535', o.port);
    }
    out.port = o.port;
  }
  const level = str('logLevel');
  if (level !== undefined && !LOG_LEVELS.includes(level))
    throw invalidOption(`${where}: logLevel`, LOG_LEVELS.join(' | '), level);
  out.logLevel = level;
  if (o.demoPage !== undefined) {
    if (typeof o.demoPage !== 'boolean') throw invalidOption(`${where}: demoPage`, 'a boolean', o.demoPage);
    out.demoPage = o.demoPage;
  }
  if (o.capture !== undefined) out.capture = parseCapture(o.capture, baseDir, `${where}: capture`);
  if (o.drift !== undefined) out.drift = parseDrift(o.drift, baseDir, `${where}: drift`);
  if (o.defaults !== undefined) {
    out.defaults = parseModelConfig(o.defaults, `${where}: defaults`);
    if (out.defaults.candidate !== undefined) {
      throw invalidOption(
        `${where}: defaults.candidate`,
        'a candidate per model (models.NAME.candidate)',
        'a default',
      );
    }
  }
  if (o.limits !== undefined) out.limits = parseLimits(o.limits, `${where}: limits`);
  if (o.models !== undefined) {
    if (typeof o.models !== 'object' || o.models === null || Array.isArray(o.models)) {
      throw invalidOption(`${where}: models`, 'an object of name -> { path, ...settings }', o.models);
    }
    for (const [name, spec] of Object.entries(o.models as Record<string, unknown>)) {
      const { candidate, rest } = splitCandidate(spec);
      const config = parseModelConfig(rest, `${where}: models.${name}`, ['path']);
      if (candidate !== undefined)
        config.candidate = parseFileCandidate(candidate, baseDir, `${where}: models.${name}.candidate`);
      const p = (spec as { path?: unknown }).path;
      if (typeof p !== 'string' || p === '')
        throw invalidOption(`${where}: models.${name}.path`, 'a path to an ONNX file', p);
      out.models.push({ name, path: path.resolve(baseDir, p), config });
    }
  }
  return out;
}

function splitCandidate(spec: unknown): { candidate: unknown; rest: unknown } {
  if (!isObject(spec)) return { candidate: undefined, rest: spec };
  const { candidate, ...rest } = spec as Record<string, unknown>;
  return { candidate, rest };
}

/**
 * A model served from a file names its candidate by file (`candidate.path`, resolved against the config
 * file, served as version 2 unless `candidate.version` says otherwise), or by version as elsewhere.
 */
function parseFileCandidate(c: unknown, baseDir: string, where: string) {
  if (!isObject(c) || !('path' in c)) return parseCandidateConfig(c, where);
  const { path: file, ...rest } = c;
  if (typeof file !== 'string' || file === '')
    throw invalidOption(`${where}.path`, 'a path to an ONNX file', file);
  return parseCandidateConfig(rest, where, { path: path.resolve(baseDir, file) });
}

const LIMIT_KEYS: readonly (keyof ServerLimits)[] = [
  'bodyLimit',
  'maxInputPixels',
  'maxImagesPerRequest',
  'requestTimeoutMs',
  'headersTimeoutMs',
  'keepAliveTimeoutMs',
  'idleTimeoutMs',
  'maxRequestsPerSocket',
  'maxConnections',
];

const DRIFT_KEYS = [
  'references',
  'window',
  'windowMs',
  'minWindow',
  'alpha',
  'thresholds',
  'featureThresholds',
  'permutations',
];

/** The `drift` section: reference paths resolved against the config file; numbers checked by DriftMonitor. */
function parseDrift(v: unknown, baseDir: string, where: string): ServerDriftOptions {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalidOption(where, 'an object', v);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!DRIFT_KEYS.includes(k)) throw invalidOption(`${where}: key`, `one of ${DRIFT_KEYS.join(', ')}`, k);
  }
  const refs = o.references ?? {};
  if (typeof refs !== 'object' || refs === null || Array.isArray(refs)) {
    throw invalidOption(`${where}.references`, 'an object of model name -> profile file', refs);
  }
  const references: Record<string, string> = {};
  for (const [name, file] of Object.entries(refs as Record<string, unknown>)) {
    if (typeof file !== 'string' || file === '') {
      throw invalidOption(`${where}.references.${name}`, 'a profile file path', file);
    }
    references[name] = path.resolve(baseDir, file);
  }
  return { ...(o as Omit<ServerDriftOptions, 'references'>), references };
}

const CAPTURE_KEYS = [
  'dir',
  'rate',
  'lowConfidence',
  'driftAlert',
  'classQuota',
  'maxFiles',
  'maxBytes',
  'queueSize',
];

/** The `capture` section: model name -> { dir, policies, bounds }; values checked by CaptureSink. */
function parseCapture(v: unknown, baseDir: string, where: string): ServerCaptureOptions {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw invalidOption(where, 'an object of model name -> { dir, rate, ... }', v);
  }
  const out: ServerCaptureOptions = {};
  for (const [name, c] of Object.entries(v as Record<string, unknown>)) {
    if (typeof c !== 'object' || c === null || Array.isArray(c))
      throw invalidOption(`${where}.${name}`, 'an object', c);
    const o = c as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!CAPTURE_KEYS.includes(k))
        throw invalidOption(`${where}.${name}: key`, `one of ${CAPTURE_KEYS.join(', ')}`, k);
    }
    if (typeof o.dir !== 'string' || o.dir === '')
      throw invalidOption(`${where}.${name}.dir`, 'a directory', o.dir);
    out[name] = { ...(o as Omit<ServerCaptureOptions[string], 'dir'>), dir: path.resolve(baseDir, o.dir) };
  }
  return out;
}

function parseLimits(v: unknown, where: string): Partial<ServerLimits> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalidOption(where, 'an object', v);
  const out: Partial<ServerLimits> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const key = LIMIT_KEYS.find((l) => l === k);
    if (key === undefined) throw invalidOption(`${where}.${k}`, `one of ${LIMIT_KEYS.join(', ')}`, k);
    // Ranges (which may be 0) are checked by createServer.
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0)
      throw invalidOption(`${where}.${k}`, 'an integer >= 0', x);
    out[key] = x;
  }
  return out;
}
