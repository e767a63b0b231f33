import { Transform, type Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { HttpError } from './http-errors.js';

/**
 * `Content-Encoding` of request bodies, on every route: `gzip` (or `x-gzip`) and `deflate` (zlib format,
 * RFC 9110) are decompressed while the body is read, and the decompressed size is bounded by the body
 * limit, so a zip bomb stops at the limit with 413 instead of filling memory. Any other coding is a 415:
 * a body is never handed on still encoded. Multipart bodies are parsed from the socket by their own
 * parser, so compressed multipart is a 415 too (compress each file instead, or send one image/* body).
 */

const DECODERS: Readonly<Record<string, () => Transform>> = {
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
};

/** The codings of a Content-Encoding header, identity dropped; `[]` for a plain body. */
export function requestCodings(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  const value = Array.isArray(header) ? header.join(',') : header;
  return value
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
}

export function installRequestDecoding(app: FastifyInstance, maxDecodedBytes: number): void {
  app.addHook('preParsing', async (request, _reply, payload) => {
    const codings = requestCodings(request.headers['content-encoding']);
    if (codings.length === 0) return payload;
    const make = codings.length === 1 ? DECODERS[codings[0]!] : undefined;
    if (make === undefined) {
      throw new HttpError(
        415,
        'ERR_UNSUPPORTED_ENCODING',
        `Expected Content-Encoding gzip, deflate or identity but received '${codings.join(', ').slice(0, 60)}'`,
      );
    }
    if (/^\s*multipart\//i.test(request.headers['content-type'] ?? '')) {
      throw new HttpError(
        415,
        'ERR_UNSUPPORTED_ENCODING',
        'a compressed multipart/form-data body is not supported: send it uncompressed, or one image per request',
      );
    }
    return decoded(payload, make(), codings[0]!, maxDecodedBytes);
  });
}

/**
 * `payload` through `decoder`, failing with 413 once more than `max` bytes come out and with 400 when
 * the data is corrupt. The request stream itself is never destroyed (that would close the socket
 * before the error is answered): it is only unpiped. `receivedEncodedLength` is what fastify compares
 * with Content-Length.
 */
function decoded(payload: Readable, decoder: Transform, coding: string, max: number): Readable {
  let encoded = 0;
  let out = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      encoded += chunk.length;
      callback(null, chunk);
    },
  });
  const limited = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      out += chunk.length;
      (limited as unknown as { receivedEncodedLength: number }).receivedEncodedLength = encoded;
      if (out > max) {
        callback(
          new HttpError(
            413,
            'ERR_BODY_TOO_LARGE',
            `the ${coding} body decompresses to more than the body limit of ${max} bytes`,
          ),
        );
        return;
      }
      callback(null, chunk);
    },
    flush(callback) {
      (limited as unknown as { receivedEncodedLength: number }).receivedEncodedLength = encoded;
      callback();
    },
  });
  const stop = () => {
    payload.unpipe(counted);
    counted.destroy();
    decoder.destroy();
  };
  decoder.on('error', (err) => {
    stop();
    limited.destroy(
      new HttpError(400, 'ERR_BAD_REQUEST', `the ${coding} body is corrupt: ${err.message}`, { cause: err }),
    );
  });
  limited.on('error', stop);
  payload.on('error', (err) => limited.destroy(err));
  payload.pipe(counted).pipe(decoder).pipe(limited);
  return limited;
}
