import { badRequest } from '../http-errors.js';

/**
 * KServe's binary tensor data extension. A request is
 *   [JSON header of `Inference-Header-Content-Length` bytes][tensor bytes, in input order]
 * where each binary input says `parameters.binary_data_size`. BYTES tensors are elements of
 * [uint32 little-endian length][bytes]; numeric tensors are raw little-endian values, row-major.
 */

export const HEADER_LENGTH = 'inference-header-content-length';

/** Splits a binary request into its parsed JSON header and the bytes after it. */
export function splitBinaryRequest(
  body: Buffer,
  headerLength: string | string[] | undefined,
): { header: unknown; rest: Buffer } {
  const raw = Array.isArray(headerLength) ? headerLength[0] : headerLength;
  if (raw === undefined || !/^[0-9]{1,12}$/.test(raw.trim())) {
    throw badRequest(
      `Expected an Inference-Header-Content-Length header (the JSON header's byte length) with a binary body but received ${raw === undefined ? 'none' : `'${raw.slice(0, 20)}'`}`,
    );
  }
  const length = Number(raw.trim());
  if (length === 0 || length > body.length) {
    throw badRequest(`Inference-Header-Content-Length is ${length} but the body has ${body.length} bytes`);
  }
  let header: unknown;
  try {
    header = JSON.parse(body.subarray(0, length).toString('utf8'));
  } catch (err) {
    throw badRequest(`the inference header is not valid JSON: ${(err as Error).message}`);
  }
  return { header, rest: body.subarray(length) };
}

/** Parses a binary BYTES tensor: `count` length-prefixed elements filling `bytes` exactly. */
export function readBytesElements(bytes: Buffer, count: number, name: string): Buffer[] {
  const out: Buffer[] = [];
  let o = 0;
  while (o < bytes.length) {
    if (o + 4 > bytes.length)
      throw badRequest(`input '${name}': truncated BYTES element length at byte ${o}`);
    const n = bytes.readUInt32LE(o);
    o += 4;
    if (o + n > bytes.length) {
      throw badRequest(
        `input '${name}': BYTES element ${out.length} says ${n} bytes but only ${bytes.length - o} remain`,
      );
    }
    out.push(bytes.subarray(o, o + n));
    o += n;
  }
  if (out.length !== count) {
    throw badRequest(
      `input '${name}': shape says ${count} BYTES elements but the binary data holds ${out.length}`,
    );
  }
  return out;
}

/** Encodes binary BYTES elements (tests and clients). */
export function writeBytesElements(elements: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of elements) {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(e.byteLength, 0);
    parts.push(len, Buffer.from(e.buffer, e.byteOffset, e.byteLength));
  }
  return Buffer.concat(parts);
}

/** A float32 view of little-endian bytes (copied when unaligned). */
export function readFloat32(bytes: Buffer): Float32Array {
  if (bytes.byteOffset % 4 === 0)
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}

/** Builds a binary response: JSON header, then the blobs in order. Returns the body and header length. */
export function buildBinaryResponse(
  header: unknown,
  blobs: readonly Buffer[],
): { body: Buffer; headerLength: number } {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  return { body: Buffer.concat([json, ...blobs]), headerLength: json.length };
}
