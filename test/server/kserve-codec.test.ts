// KServe tensor encoding/decoding on its own (no HTTP).
import { describe, expect, it } from 'vitest';
import {
  buildBinaryResponse,
  readBytesElements,
  splitBinaryRequest,
  writeBytesElements,
} from '../../dist/server/kserve/binary.js';
import { decodeInferInput } from '../../dist/server/kserve/decode-inputs.js';
import { encodeOutputs } from '../../dist/server/kserve/outputs.js';
import type { DetectResult } from '../../dist/index.js';

const limits = { maxImages: 4, imgsz: [2, 2] as [number, number] };
const bytesInput = (data: unknown, shape = [1]) => ({
  inputs: [{ name: 'x', datatype: 'BYTES', shape, data }],
});

describe('decodeInferInput', () => {
  it('reads BYTES as base64 strings in JSON, flat or nested', () => {
    const a = Buffer.from('hello').toString('base64');
    const b = Buffer.from([0xff, 0xfe, 0x00]).toString('base64url');
    const d = decodeInferInput(bytesInput([[a], [b]], [2, 1]), undefined, limits);
    expect(d.kind).toBe('images');
    if (d.kind !== 'images') return;
    expect(d.images.map((x) => Buffer.from(x).toString('hex'))).toEqual(['68656c6c6f', 'fffe00']);
  });

  it('reads BYTES from the binary extension', () => {
    const blob = writeBytesElements([Buffer.from('ab'), Buffer.from('cde')]);
    const body = {
      inputs: [{ name: 'x', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: blob.length } }],
    };
    const d = decodeInferInput(body, blob, limits);
    expect(d.kind === 'images' && d.images.map((x) => Buffer.from(x).toString())).toEqual(['ab', 'cde']);
  });

  it('reads FP32 [N,3,H,W] from JSON and binary alike', () => {
    const values = Array.from({ length: 12 }, (_, i) => i / 12);
    const json = decodeInferInput(
      { inputs: [{ name: 'images', datatype: 'FP32', shape: [1, 3, 2, 2], data: values }] },
      undefined,
      limits,
    );
    const bin = Buffer.from(new Float32Array(values).buffer);
    const binary = decodeInferInput(
      {
        inputs: [
          { name: 'images', datatype: 'FP32', shape: [1, 3, 2, 2], parameters: { binary_data_size: 48 } },
        ],
      },
      bin,
      limits,
    );
    expect(json.kind === 'tensor' && Array.from(json.tensor)).toEqual(Array.from(new Float32Array(values)));
    expect(binary.kind === 'tensor' && Array.from(binary.tensor)).toEqual(
      Array.from(new Float32Array(values)),
    );
  });

  it.each([
    [
      'two inputs',
      { inputs: [bytesInput(['']).inputs[0], bytesInput(['']).inputs[0]] },
      undefined,
      /2 inputs/,
    ],
    [
      'a wrong datatype',
      { inputs: [{ name: 'x', datatype: 'INT8', shape: [1], data: [1] }] },
      undefined,
      /datatype INT8/,
    ],
    [
      'a wrong FP32 shape',
      { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 4, 4], data: [] }] },
      undefined,
      /\[N,3,2,2\]/,
    ],
    [
      'too few FP32 values',
      { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 2, 2], data: [1, 2] }] },
      undefined,
      /12 elements but data has 2/,
    ],
    [
      'a non-number FP32 value',
      { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 2, 2], data: [...Array(11).fill(0), 'x'] }] },
      undefined,
      /finite number for element 11/,
    ],
    ['shape/data count mismatch', bytesInput(['YQ==', 'Yg=='], [1]), undefined, /1 elements but data has 2/],
    ['too many images', bytesInput(Array(5).fill('YQ=='), [5]), undefined, /1 to 4 images/],
    ['a non-base64 element', bytesInput(['not base64!']), undefined, /base64 string for element 0/],
    ['a zero dimension', bytesInput([], [0]), undefined, /holds 0/],
    [
      'binary size with a JSON body',
      { inputs: [{ name: 'x', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: 3 } }] },
      undefined,
      /request is JSON/,
    ],
    [
      'a binary size that does not match',
      { inputs: [{ name: 'x', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: 3 } }] },
      Buffer.alloc(5),
      /binary_data_size 3 but 5 bytes/,
    ],
    ['stray bytes after the header', bytesInput(['YQ==']), Buffer.alloc(2), /no input has binary_data_size/],
  ])('refuses %s with a 400', (_name, body, binary, message) => {
    let err: unknown;
    try {
      decodeInferInput(body as never, binary, limits);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ statusCode: 400, code: 'ERR_BAD_REQUEST' });
    expect((err as Error).message).toMatch(message);
  });
});

describe('binary extension framing', () => {
  it('splits header and tensors, and refuses a bad header length', () => {
    const header = Buffer.from(JSON.stringify({ inputs: [] }));
    const body = Buffer.concat([header, Buffer.from([1, 2, 3])]);
    const { header: parsed, rest } = splitBinaryRequest(body, String(header.length));
    expect(parsed).toEqual({ inputs: [] });
    expect([...rest]).toEqual([1, 2, 3]);
    expect(() => splitBinaryRequest(body, undefined)).toThrow(/Inference-Header-Content-Length/);
    expect(() => splitBinaryRequest(body, '999')).toThrow(/999/);
    expect(() => splitBinaryRequest(body, '-1')).toThrow(/Inference-Header-Content-Length/);
    expect(() => splitBinaryRequest(body, String(header.length - 1))).toThrow(/not valid JSON/);
  });

  it('refuses truncated BYTES elements', () => {
    const blob = writeBytesElements([Buffer.from('abcd')]);
    expect(() => readBytesElements(blob.subarray(0, 6), 1, 'x')).toThrow(/says 4 bytes/);
    expect(() => readBytesElements(blob.subarray(0, 2), 1, 'x')).toThrow(/truncated/);
    expect(() => readBytesElements(blob, 2, 'x')).toThrow(/shape says 2/);
  });

  it('builds a response whose header length points at the tensors', () => {
    const { body, headerLength } = buildBinaryResponse({ a: 1 }, [Buffer.from([9, 8])]);
    expect(JSON.parse(body.subarray(0, headerLength).toString())).toEqual({ a: 1 });
    expect([...body.subarray(headerLength)]).toEqual([9, 8]);
  });
});

describe('encodeOutputs', () => {
  const result = (n: number): DetectResult => ({
    detections: Array.from({ length: n }, (_, i) => ({
      box: [i, i + 1, i + 2, i + 3],
      conf: 0.5 + i / 10,
      cls: i,
      name: String(i),
    })),
    width: 10,
    height: 10,
    speed: { preprocess: 0, inference: 0, postprocess: 0 },
  });

  it('pads to the largest detection count with zeros', () => {
    const { outputs, blobs } = encodeOutputs([result(2), result(0)], undefined, false);
    expect(blobs).toEqual([]);
    const byName = Object.fromEntries(outputs.map((o) => [o.name, o]));
    expect(byName.num_dets).toMatchObject({ shape: [2, 1], data: [2, 0] });
    expect(byName.det_boxes).toMatchObject({
      shape: [2, 2, 4],
      data: [0, 1, 2, 3, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0],
    });
    expect(byName.det_classes).toMatchObject({ datatype: 'INT32', shape: [2, 2], data: [0, 1, 0, 0] });
    expect(byName.det_scores!.data!.map((x) => Math.round(x * 100))).toEqual([50, 60, 0, 0]);
  });

  it('returns only the requested outputs, binary where asked', () => {
    const { outputs, blobs } = encodeOutputs(
      [result(1)],
      [{ name: 'det_scores', parameters: { binary_data: true } }, { name: 'num_dets' }],
      false,
    );
    expect(outputs.map((o) => o.name)).toEqual(['det_scores', 'num_dets']);
    expect(outputs[0]).toMatchObject({ parameters: { binary_data_size: 4 } });
    expect(outputs[0]!.data).toBeUndefined();
    expect(new Float32Array(new Uint8Array(blobs[0]!).buffer)[0]).toBeCloseTo(0.5);
    expect(() => encodeOutputs([], [{ name: 'masks' }], false)).toThrow(/'masks'/);
  });
});
