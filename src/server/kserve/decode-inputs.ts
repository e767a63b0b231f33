import { badRequest } from '../http-errors.js';
import { readBytesElements, readFloat32 } from './binary.js';
import type { InferRequestBody } from './types.js';

/**
 * Turns the one input tensor of an infer request into work for the detector:
 * - `BYTES [N]` (any shape with N elements): N encoded images. In JSON each element is a base64 string
 *   (JSON cannot carry raw bytes); with the binary extension (or gRPC raw contents), length-prefixed
 *   raw bytes; from gRPC's `bytes_contents`, one Uint8Array per image.
 * - `FP32 [N, 3, H, W]`: a letterboxed RGB tensor in 0..1, H x W the model's input size.
 * Every inconsistency is a 400 naming the input and the values received. Numeric binary data is read
 * as little-endian, the byte order of every platform we build for.
 */

export type DecodedInput =
  { kind: 'images'; images: Uint8Array[] } | { kind: 'tensor'; tensor: Float32Array; n: number };

export interface DecodeLimits {
  /** Images (BYTES elements, or N of an FP32 tensor) per request. */
  maxImages: number;
  /** Network input size [H, W]. */
  imgsz: readonly [number, number];
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

export function decodeInferInput(
  body: InferRequestBody,
  binary: Buffer | undefined,
  limits: DecodeLimits,
): DecodedInput {
  const [h, w] = limits.imgsz;
  const expected = `one input: BYTES [N] of encoded images, or FP32 [N,3,${h},${w}]`;
  if (body.inputs.length !== 1)
    throw badRequest(`Expected ${expected} but received ${body.inputs.length} inputs`);
  const input = body.inputs[0]!;
  const name = input.name;

  // Where the binary inputs' bytes are: in order after the JSON header, each exactly its declared size.
  let bytes: Buffer | undefined;
  const size = input.parameters?.binary_data_size;
  if (size !== undefined) {
    if (binary === undefined) {
      throw badRequest(
        `input '${name}' has binary_data_size but the request is JSON (no Inference-Header-Content-Length)`,
      );
    }
    if (size !== binary.length) {
      throw badRequest(
        `input '${name}' says binary_data_size ${size} but ${binary.length} bytes follow the header`,
      );
    }
    if (input.data !== undefined) throw badRequest(`input '${name}' has both binary_data_size and data`);
    bytes = binary;
  } else {
    if (binary !== undefined && binary.length > 0) {
      throw badRequest(
        `${binary.length} bytes follow the inference header but no input has binary_data_size`,
      );
    }
    if (input.data === undefined) throw badRequest(`input '${name}' has neither data nor binary_data_size`);
  }

  let count = 1;
  for (const d of input.shape) count *= d;
  if (input.shape.length === 0 || count > Number.MAX_SAFE_INTEGER) {
    throw badRequest(
      `Expected a shape of positive dimensions for input '${name}' but received [${input.shape.join(',')}]`,
    );
  }

  if (input.datatype === 'BYTES') {
    if (count < 1 || count > limits.maxImages) {
      throw badRequest(
        `Expected 1 to ${limits.maxImages} images in BYTES input '${name}' but its shape [${input.shape.join(',')}] holds ${count}`,
      );
    }
    if (bytes !== undefined) return { kind: 'images', images: readBytesElements(bytes, count, name) };
    const elements = flatten(input.data, count, name);
    return {
      kind: 'images',
      images: elements.map((e, i) => {
        // gRPC's bytes_contents carry the bytes themselves; JSON can only carry base64.
        if (e instanceof Uint8Array) return e;
        if (typeof e !== 'string' || !BASE64.test(e)) {
          throw badRequest(
            `Expected a base64 string for element ${i} of BYTES input '${name}' but received ${typeof e}`,
          );
        }
        return Buffer.from(e, e.includes('-') || e.includes('_') ? 'base64url' : 'base64');
      }),
    };
  }

  if (input.datatype === 'FP32') {
    const [n, c, hh, ww] = input.shape;
    if (input.shape.length !== 4 || c !== 3 || hh !== h || ww !== w || n === undefined || n < 1) {
      throw badRequest(
        `Expected shape [N,3,${h},${w}] for FP32 input '${name}' but received [${input.shape.join(',')}]`,
      );
    }
    if (n > limits.maxImages)
      throw badRequest(`Expected at most ${limits.maxImages} images in input '${name}' but received ${n}`);
    if (bytes !== undefined) {
      if (bytes.length !== count * 4) {
        throw badRequest(
          `FP32 input '${name}' of shape [${input.shape.join(',')}] needs ${count * 4} bytes but has ${bytes.length}`,
        );
      }
      const tensor = readFloat32(bytes);
      const bad = firstNonFinite(tensor);
      if (bad >= 0) {
        throw badRequest(
          `Expected finite values in FP32 input '${name}' but element ${bad} is ${String(tensor[bad])}`,
        );
      }
      return { kind: 'tensor', tensor, n };
    }
    const elements = flatten(input.data, count, name);
    const tensor = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      const v = elements[i];
      // Math.fround: a JSON number beyond float32's range (1e308) would silently become Infinity.
      if (typeof v !== 'number' || !Number.isFinite(Math.fround(v))) {
        throw badRequest(
          `Expected a finite number for element ${i} of FP32 input '${name}' (within float32's range) but received ${String(v).slice(0, 40)}`,
        );
      }
      tensor[i] = v;
    }
    return { kind: 'tensor', tensor, n };
  }

  throw badRequest(
    `Expected ${expected} but input '${name}' has datatype ${String(input.datatype).slice(0, 16)}`,
  );
}

/** Index of the first NaN or +-Infinity, or -1. (x - x is 0 for finite x, NaN otherwise.) */
function firstNonFinite(t: Float32Array): number {
  for (let i = 0; i < t.length; i++) if (t[i]! - t[i]! !== 0) return i;
  return -1;
}

/** Row-major data may arrive flat or nested; either way it must hold exactly `count` elements. */
function flatten(data: unknown, count: number, name: string): unknown[] {
  if (!Array.isArray(data)) throw badRequest(`Expected an array for the data of input '${name}'`);
  const flat = data.some(Array.isArray) ? (data.flat(8) as unknown[]) : data;
  if (flat.length !== count) {
    throw badRequest(`input '${name}': shape holds ${count} elements but data has ${flat.length}`);
  }
  return flat;
}
