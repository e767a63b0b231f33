// Our decoder (sharp) must hand the network the pixels OpenCV's imread(IMREAD_COLOR) gives the reference:
// fixtures written and read by python3-opencv 4.6 (scripts/make-decode-fixtures.py).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../dist/index.js';

const dir = path.resolve('test/fixtures/decode');
const { cases } = JSON.parse(readFileSync(path.join(dir, 'cases.json'), 'utf8')) as {
  cases: { file: string; width: number; height: number; sha256: string }[];
};

/** Tight RGB bytes, gray replicated to 3 channels as imread(IMREAD_COLOR) does. */
function toRgb(img: { data: Uint8Array; width: number; height: number; stride: number; format: string }) {
  const out = new Uint8Array(img.width * img.height * 3);
  const ch = img.format === 'gray' ? 1 : 3;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const s = y * img.stride + x * ch;
      const o = (y * img.width + x) * 3;
      out[o] = img.data[s]!;
      out[o + 1] = img.data[s + (ch === 3 ? 1 : 0)]!;
      out[o + 2] = img.data[s + (ch === 3 ? 2 : 0)]!;
    }
  }
  return out;
}

describe('decode parity with cv2.imread', () => {
  it('has fixtures', () => expect(cases.length).toBeGreaterThanOrEqual(8));
  for (const c of cases) {
    it(c.file, async () => {
      const img = await decodeImage(path.join(dir, c.file));
      expect([img.width, img.height]).toEqual([c.width, c.height]);
      expect(createHash('sha256').update(toRgb(img)).digest('hex')).toBe(c.sha256);
    });
  }
});
