// BMP decodes exactly as OpenCV 4.6's imread(IMREAD_COLOR) reads it, and what imread refuses we refuse
// with a coded error: hand-made fixtures in every variant, read by python3-opencv
// (scripts/make-bmp-fixtures.py). Also: a folder of BMPs goes through predict, and the pixel limit holds.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImage, isYoloTrtError } from '../../dist/index.js';

const dir = path.resolve('test/fixtures/decode/bmp');
const { cases } = JSON.parse(readFileSync(path.join(dir, 'cases.json'), 'utf8')) as {
  cases: { file: string; refused?: boolean; width?: number; height?: number; sha256?: string }[];
};

/** Tight RGB bytes from BGR rows (what the parity fixtures hash). */
function toRgb(img: { data: Uint8Array; width: number; height: number; stride: number; format: string }) {
  expect(img.format).toBe('bgr');
  const out = new Uint8Array(img.width * img.height * 3);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const s = y * img.stride + x * 3;
      const o = (y * img.width + x) * 3;
      out[o] = img.data[s + 2]!;
      out[o + 1] = img.data[s + 1]!;
      out[o + 2] = img.data[s]!;
    }
  }
  return out;
}

describe('BMP decode parity with cv2.imread', () => {
  it('covers palettes, 16/24/32-bit, BITFIELDS, RLE4/RLE8, top-down, core headers and refusals', () => {
    const names = cases.map((c) => c.file).join(' ');
    for (const kind of [
      'pal1',
      'pal4',
      'pal8',
      'rgb555',
      'bitfields565',
      'rgb24',
      'rgb32',
      'bitfields32',
      'rle8',
      'rle4',
      'topdown',
      'core',
    ])
      expect(names).toContain(kind);
    expect(cases.filter((c) => c.refused === true).length).toBeGreaterThanOrEqual(5);
  });

  for (const c of cases) {
    it(`${c.file}: ${c.refused === true ? 'refused, as cv2 refuses it' : 'same pixels as cv2'}`, async () => {
      const file = path.join(dir, c.file);
      if (c.refused === true) {
        const err = await decodeImage(file).then(
          () => null,
          (e: unknown) => e,
        );
        expect(isYoloTrtError(err)).toBe(true);
        expect((err as { code: string }).code).toMatch(/^ERR_(UNSUPPORTED_FORMAT|BAD_IMAGE)$/);
        expect((err as Error).message).toMatch(/BMP/);
        return;
      }
      const img = await decodeImage(file);
      expect([img.width, img.height]).toEqual([c.width, c.height]);
      expect(createHash('sha256').update(toRgb(img)).digest('hex')).toBe(c.sha256);
    });
  }

  it('checks the pixel limit from the header, before decoding', async () => {
    const bytes = readFileSync(path.join(dir, 'rgb24.bmp'));
    await expect(decodeImage(bytes, { limitInputPixels: 50 })).rejects.toMatchObject({
      code: 'ERR_IMAGE_TOO_LARGE',
      message: expect.stringMatching(/13x7 = 91 pixels, over limitInputPixels \(50\)/),
    });
  });
});
