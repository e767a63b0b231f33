/**
 * Bad arguments to the addon: each is a rejected promise (or, for the synchronous letterboxGeometry, a
 * thrown error) with a stable code, never a crash; the addon keeps working afterwards.
 */
import { describe, expect, it } from 'vitest';

import type { NativeImage, PostprocessOptions, PreprocessOptions } from '../../dist/native/binding.js';
import { YoloTrtError } from '../../dist/errors.js';
import { callNative, loadNative, wrapNativeError } from '../../dist/native/load.js';

const native = loadNative();

const good: NativeImage = { data: new Uint8Array(4 * 3 * 3), width: 4, height: 3, stride: 12, format: 'rgb' };
const pre: PreprocessOptions = { width: 32, height: 32, dtype: 'float32', threads: 1 };
const post: PostprocessOptions = {
  dims: [1, 6, 4],
  conf: 0.25,
  iou: 0.7,
  maxDet: 300,
  agnostic: false,
  classes: null,
  inputWidth: 32,
  inputHeight: 32,
  origSizes: new Int32Array([4, 3]),
  threads: 1,
};
const raw = new Float32Array(24);

/** Calls fn, requiring a promise (no synchronous throw), and returns the rejection's code and message. */
async function rejection(fn: () => Promise<unknown>): Promise<{ code: unknown; message: string }> {
  let promise: Promise<unknown> | undefined;
  expect(() => {
    promise = fn();
  }).not.toThrow();
  expect(promise).toBeInstanceOf(Promise);
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
    const e = err as Error & { code?: unknown };
    return { code: e.code, message: e.message };
  }
  throw new Error('expected a rejection');
}

// Deliberately ill-typed calls: the addon must not trust its TypeScript types.
/* eslint-disable @typescript-eslint/no-explicit-any */
const anyNative = native as any;

describe('preprocess rejects bad arguments', () => {
  const cases: [string, () => Promise<unknown>, string, RegExp?][] = [
    [
      'images not an array',
      () => anyNative.preprocess(good, pre),
      'ERR_INVALID_OPTION',
      /Expected an array of images for images but received a value of type object/,
    ],
    ['empty batch', () => native.preprocess([], pre), 'ERR_INVALID_OPTION'],
    ['image not an object', () => anyNative.preprocess([42], pre), 'ERR_INVALID_OPTION', /images\[0\]/],
    [
      'data not bytes',
      () => anyNative.preprocess([{ ...good, data: new Float32Array(36) }], pre),
      'ERR_BAD_IMAGE',
      /images\[0\]\.data but received a Float32Array of 144 bytes/,
    ],
    ['data a string', () => anyNative.preprocess([{ ...good, data: 'pixels' }], pre), 'ERR_BAD_IMAGE'],
    [
      'width 0',
      () => native.preprocess([{ ...good, width: 0 }], pre),
      'ERR_BAD_IMAGE',
      /images\[0\]\.width but received 0 of type number/,
    ],
    ['height -1', () => native.preprocess([{ ...good, height: -1 }], pre), 'ERR_BAD_IMAGE'],
    ['width 1.5', () => native.preprocess([{ ...good, width: 1.5 }], pre), 'ERR_BAD_IMAGE'],
    [
      'width NaN',
      () => native.preprocess([{ ...good, width: NaN }], pre),
      'ERR_BAD_IMAGE',
      /NaN of type number/,
    ],
    ['width a string', () => anyNative.preprocess([{ ...good, width: '4' }], pre), 'ERR_BAD_IMAGE'],
    [
      'stride < width * channels',
      () => native.preprocess([{ ...good, stride: 11 }], pre),
      'ERR_BAD_IMAGE',
      /stride of at least 12/,
    ],
    [
      'buffer too short',
      () => native.preprocess([{ ...good, data: new Uint8Array(35) }], pre),
      'ERR_BAD_IMAGE',
      /at least 36 bytes/,
    ],
    [
      'buffer too short for the stride',
      () => native.preprocess([{ ...good, stride: 16 }], pre),
      'ERR_BAD_IMAGE',
      /at least 44 bytes/,
    ],
    [
      'rgba needs 4 bytes a pixel',
      () => native.preprocess([{ ...good, format: 'rgba' }], pre),
      'ERR_BAD_IMAGE',
    ],
    [
      'unknown format',
      () => anyNative.preprocess([{ ...good, format: 'yuv' }], pre),
      'ERR_UNSUPPORTED_FORMAT',
      /'yuv' of type string/,
    ],
    [
      'second image bad',
      () => native.preprocess([good, { ...good, height: 0 }], pre),
      'ERR_BAD_IMAGE',
      /images\[1\]/,
    ],
    ['options missing', () => anyNative.preprocess([good]), 'ERR_INVALID_OPTION'],
    [
      'width 0',
      () => native.preprocess([good], { ...pre, width: 0 }),
      'ERR_INVALID_OPTION',
      /options\.width/,
    ],
    ['height too large', () => native.preprocess([good], { ...pre, height: 1e9 }), 'ERR_INVALID_OPTION'],
    [
      'dtype int8',
      () => anyNative.preprocess([good], { ...pre, dtype: 'int8' }),
      'ERR_INVALID_OPTION',
      /options\.dtype/,
    ],
    [
      'threads 0',
      () => native.preprocess([good], { ...pre, threads: 0 }),
      'ERR_INVALID_OPTION',
      /options\.threads/,
    ],
    [
      'output of the wrong type',
      () => native.preprocess([good], { ...pre, output: new Uint16Array(3 * 32 * 32) }),
      'ERR_INVALID_OPTION',
      /options\.output/,
    ],
    [
      'output too small',
      () => native.preprocess([good], { ...pre, output: new Float32Array(10) }),
      'ERR_INVALID_OPTION',
    ],
    [
      'output sharing memory with the input',
      () => {
        const shared = new Uint8Array(3 * 32 * 32 + 36);
        return native.preprocess([{ ...good, data: shared.subarray(0, 36) }], {
          ...pre,
          dtype: 'uint8',
          output: shared,
        });
      },
      'ERR_INVALID_OPTION',
      /shares memory/,
    ],
  ];
  it.each(cases)('%s', async (_name, fn, code, message) => {
    const r = await rejection(fn);
    expect(r.code).toBe(code);
    if (message) expect(r.message).toMatch(message);
  });
});

describe('postprocess rejects bad arguments', () => {
  const cases: [string, () => Promise<unknown>, string, RegExp?][] = [
    [
      'output not Float32Array',
      () => anyNative.postprocess(new Float64Array(24), post),
      'ERR_INVALID_OPTION',
      /Float32Array for output but received a Float64Array/,
    ],
    [
      'dims not 3 long',
      () => anyNative.postprocess(raw, { ...post, dims: [6, 4] }),
      'ERR_INVALID_OPTION',
      /options\.dims/,
    ],
    [
      'dims inconsistent with length',
      () => native.postprocess(raw, { ...post, dims: [1, 6, 5] }),
      'ERR_INVALID_OPTION',
      /30 floats/,
    ],
    [
      'no classes',
      () => native.postprocess(new Float32Array(16), { ...post, dims: [1, 4, 4] }),
      'ERR_INVALID_OPTION',
    ],
    [
      'conf 1.5',
      () => native.postprocess(raw, { ...post, conf: 1.5 }),
      'ERR_INVALID_OPTION',
      /options\.conf but received 1\.5/,
    ],
    ['iou NaN', () => native.postprocess(raw, { ...post, iou: NaN }), 'ERR_INVALID_OPTION', /options\.iou/],
    [
      'maxDet -1',
      () => native.postprocess(raw, { ...post, maxDet: -1 }),
      'ERR_INVALID_OPTION',
      /options\.maxDet/,
    ],
    [
      'agnostic not boolean',
      () => anyNative.postprocess(raw, { ...post, agnostic: 1 }),
      'ERR_INVALID_OPTION',
    ],
    [
      'class id out of range',
      () => native.postprocess(raw, { ...post, classes: new Int32Array([0, 2]) }),
      'ERR_INVALID_OPTION',
      /between 0 and 1/,
    ],
    ['classes an array', () => anyNative.postprocess(raw, { ...post, classes: [0] }), 'ERR_INVALID_OPTION'],
    [
      'origSizes wrong length',
      () => native.postprocess(raw, { ...post, origSizes: new Int32Array([4]) }),
      'ERR_INVALID_OPTION',
    ],
    [
      'origSizes zero',
      () => native.postprocess(raw, { ...post, origSizes: new Int32Array([4, 0]) }),
      'ERR_INVALID_OPTION',
    ],
    ['threads 0', () => native.postprocess(raw, { ...post, threads: 0 }), 'ERR_INVALID_OPTION'],
  ];
  it.each(cases)('%s', async (_name, fn, code, message) => {
    const r = await rejection(fn);
    expect(r.code).toBe(code);
    if (message) expect(r.message).toMatch(message);
  });
});

describe('letterboxGeometry', () => {
  it('throws ERR_INVALID_OPTION synchronously', () => {
    for (const args of [[0, 1, 640, 640], [1, 1, -640, 640], [1.5, 1, 640, 640], ['1', 1, 640, 640], []]) {
      let thrown: unknown;
      try {
        anyNative.letterboxGeometry(...args);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, JSON.stringify(args)).toBeInstanceOf(Error);
      expect((thrown as { code?: unknown }).code).toBe('ERR_INVALID_OPTION');
    }
  });
});

describe('after errors', () => {
  it('still works', async () => {
    const r = await native.preprocess([good], pre);
    expect(r.tensor.length).toBe(3 * 32 * 32);
    const p = await native.postprocess(raw, post);
    expect(p.detections).toHaveLength(1);
  });

  it('wrapNativeError / callNative give a YoloTrtError with the code and the caller stack', async () => {
    let caught: unknown;
    try {
      await callNative(() => native.preprocess([{ ...good, width: 0 }], pre));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(YoloTrtError);
    const e = caught as YoloTrtError;
    expect(e.code).toBe('ERR_BAD_IMAGE');
    expect(e.message).toMatch(/images\[0\]\.width/);
    expect(e.stack).toMatch(/errors\.test\.ts/);
    expect(e.cause).toBeInstanceOf(Error);

    const unknown = wrapNativeError(
      Object.assign(new Error('boom'), { code: 'ERR_SOMETHING_ELSE' }),
      new Error(),
    );
    expect(unknown.code).toBe('ERR_INTERNAL');
    expect(unknown.message).toBe('boom');
  });
});
