// FP32 tensors must hold finite float32 values, over JSON and the binary extension alike: NaN and
// Infinity would run through the model and come back as garbage boxes, and JSON 1e308 silently
// became Infinity when stored as float32.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeInferInput } from '../../dist/server/kserve/decode-inputs.js';
import { errorBody, fakeServer, listen } from './helpers.js';

const limits = { maxImages: 4, imgsz: [2, 2] as const };
const jsonInput = (data: unknown[]) => ({
  inputs: [{ name: 'images', datatype: 'FP32', shape: [1, 3, 2, 2], data }],
});
const binaryInput = {
  inputs: [{ name: 'images', datatype: 'FP32', shape: [1, 3, 2, 2], parameters: { binary_data_size: 48 } }],
};
const floats = (values: number[]) => Buffer.from(new Float32Array(values).buffer);

describe('FP32 values', () => {
  it.each([
    ['NaN', NaN],
    ['+Infinity', Infinity],
    ['-Infinity', -Infinity],
  ])('binary %s is refused, naming the element', (_name, v) => {
    const values = Array<number>(12).fill(0.5);
    values[7] = v;
    expect(() => decodeInferInput(binaryInput as never, floats(values), limits)).toThrow(/element 7/);
  });

  it.each([1e308, -1e39, 3.5e38])('JSON %s (beyond float32) is refused', (v) => {
    const values: number[] = Array<number>(12).fill(0.5);
    values[3] = v;
    expect(() => decodeInferInput(jsonInput(values) as never, undefined, limits)).toThrow(/element 3/);
  });

  it('the largest float32 and tiny values are accepted', () => {
    const values = Array<number>(12).fill(0.5);
    values[0] = 3.4028234663852886e38;
    values[1] = -3.4028234663852886e38;
    values[2] = 1e-45;
    const json = decodeInferInput(jsonInput(values) as never, undefined, limits);
    const bin = decodeInferInput(binaryInput as never, floats(values), limits);
    expect(json.kind === 'tensor' && Array.from(json.tensor)).toEqual(Array.from(new Float32Array(values)));
    expect(bin.kind === 'tensor' && Array.from(bin.tensor)).toEqual(Array.from(new Float32Array(values)));
  });
});

describe('over HTTP', () => {
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    ({ app } = await fakeServer({}, { imgsz: [2, 2] }));
    base = await listen(app);
  });
  afterAll(async () => {
    await app.close();
  });

  it('a binary FP32 tensor with NaN is a 400 ERR_BAD_REQUEST', async () => {
    const header = Buffer.from(JSON.stringify(binaryInput));
    const values = Array<number>(12).fill(0.5);
    values[11] = NaN;
    const res = await fetch(`${base}/v2/models/fake/infer`, {
      method: 'POST',
      headers: {
        'inference-header-content-length': String(header.length),
        'content-type': 'application/octet-stream',
      },
      body: Buffer.concat([header, floats(values)]),
    });
    expect(res.status).toBe(400);
    expect(errorBody(await res.text()).code).toBe('ERR_BAD_REQUEST');
  });

  it('JSON 1e308 is a 400 ERR_BAD_REQUEST', async () => {
    const values = Array<number>(12).fill(0.5);
    values[0] = 1e308;
    const res = await fetch(`${base}/v2/models/fake/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(jsonInput(values)),
    });
    expect(res.status).toBe(400);
    expect(errorBody(await res.text()).error).toMatch(/float32's range/);
  });
});
