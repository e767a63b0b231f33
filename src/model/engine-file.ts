/**
 * TensorRT engine files as Ultralytics writes them: a 4-byte little-endian length, that many bytes of
 * JSON metadata (names, imgsz, stride, task, batch, half, int8, dynamic, ...), then the TensorRT plan.
 * Bare plans (trtexec, our own cache) have no header. This module tells them apart and reads the header;
 * it never touches TensorRT.
 */
import { YoloTrtError } from '../errors.js';

export interface EngineFile {
  /** 'ultralytics' when a JSON header was found, 'plan' for a bare TensorRT plan. */
  kind: 'ultralytics' | 'plan';
  /** The parsed JSON header, or null for a bare plan. */
  metadata: Record<string, unknown> | null;
  /** The TensorRT plan bytes (a view into the input, not a copy). */
  plan: Uint8Array;
}

/** Headers longer than this are not Ultralytics metadata (theirs is ~1-3 KB; names of 10k classes fit). */
const MAX_HEADER_BYTES = 16 * 1024 * 1024;

/**
 * Splits an engine file into its optional Ultralytics header and the plan. A file whose first four bytes
 * do not announce a JSON object that fits in the file is taken as a bare plan (TensorRT itself will say
 * whether it is one).
 */
export function splitEngineFile(bytes: Uint8Array, source = 'engine file'): EngineFile {
  if (bytes.byteLength === 0) {
    throw new YoloTrtError('ERR_MODEL_INVALID', `Expected a TensorRT engine in ${source} but it is empty`);
  }
  if (bytes.byteLength >= 5) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const length = view.getUint32(0, true);
    // '{' right after the length, and the JSON followed by at least one byte of plan.
    if (length >= 2 && length <= MAX_HEADER_BYTES && 4 + length < bytes.byteLength && bytes[4] === 0x7b) {
      const metadata = parseHeader(bytes.subarray(4, 4 + length));
      if (metadata !== null) {
        return { kind: 'ultralytics', metadata, plan: bytes.subarray(4 + length) };
      }
    }
  }
  return { kind: 'plan', metadata: null, plan: bytes };
}

function parseHeader(json: Uint8Array): Record<string, unknown> | null {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(json);
  } catch {
    return null;
  }
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** What an Ultralytics engine header says about the model, each field only when present and valid. */
export interface EngineHints {
  names?: string[];
  /** [height, width] (Ultralytics' imgsz order). */
  imgsz?: [number, number];
  stride?: number;
  task?: string;
  batch?: number;
  dynamic?: boolean;
  half?: boolean;
  int8?: boolean;
  /** End-to-end output: `end2end: true` (YOLO26/YOLOv10) or `args.nms: true` (an nms=True export). */
  endToEnd?: boolean;
}

function positiveInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
}

/**
 * Reads the fields yolo-trt uses from an Ultralytics header. `names` is a JSON object {"0": "person",
 * ...} (json.dumps of a dict with int keys) or a list; ids must be 0..n-1 without gaps.
 */
export function engineHints(metadata: Record<string, unknown>): EngineHints {
  const hints: EngineHints = {};
  const names = metadata.names;
  if (Array.isArray(names) && names.every((n) => typeof n === 'string')) {
    hints.names = names as string[];
  } else if (typeof names === 'object' && names !== null) {
    // Keys must be exactly "0".."n-1" (a dict of int keys through json.dumps).
    const entries = Object.entries(names as Record<string, unknown>);
    const list: (string | undefined)[] = new Array<string | undefined>(entries.length).fill(undefined);
    for (const [key, value] of entries) {
      const id = Number(key);
      if (String(id) === key && id >= 0 && id < entries.length && typeof value === 'string') list[id] = value;
    }
    if (entries.length > 0 && list.every((n) => n !== undefined)) hints.names = list as string[];
  }
  const imgsz = metadata.imgsz;
  if (Array.isArray(imgsz) && imgsz.length === 2) {
    const h = positiveInt(imgsz[0]);
    const w = positiveInt(imgsz[1]);
    if (h !== undefined && w !== undefined) hints.imgsz = [h, w];
  } else if (positiveInt(imgsz) !== undefined) {
    hints.imgsz = [imgsz as number, imgsz as number];
  }
  const stride = positiveInt(metadata.stride);
  if (stride !== undefined) hints.stride = stride;
  if (typeof metadata.task === 'string') hints.task = metadata.task;
  const batch = positiveInt(metadata.batch);
  if (batch !== undefined) hints.batch = batch;
  for (const key of ['dynamic', 'half', 'int8'] as const) {
    if (typeof metadata[key] === 'boolean') hints[key] = metadata[key];
  }
  // Ultralytics' header is json.dumps of the metadata: booleans stay booleans, args is an object.
  const args = metadata.args;
  const argsNms =
    typeof args === 'object' && args !== null ? (args as Record<string, unknown>).nms : undefined;
  if (metadata.end2end === true || argsNms === true) hints.endToEnd = true;
  else if (metadata.end2end === false) hints.endToEnd = false;
  return hints;
}

/** Builds an Ultralytics-style engine file (header + plan): for tests and for exporting cached plans. */
export function joinEngineFile(metadata: Record<string, unknown>, plan: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(metadata));
  const out = new Uint8Array(4 + json.byteLength + plan.byteLength);
  new DataView(out.buffer).setUint32(0, json.byteLength, true);
  out.set(json, 4);
  out.set(plan, 4 + json.byteLength);
  return out;
}
