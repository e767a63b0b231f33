/**
 * CMYK JPEGs, read the way OpenCV's imread reads them. libjpeg hands OpenCV the stored (Adobe-inverted)
 * CMYK samples and OpenCV converts each pixel with integer arithmetic:
 *   R = K - ((255 - C) * K >> 8), G likewise from M, B from Y.
 * libvips (sharp) un-inverts Adobe CMYK on load, so we invert back before applying the same formula.
 * Checked bit-exact against cv2.imread (test/fixtures/decode/cmyk.jpg).
 */

/** Pixels per slice: the conversion yields to the event loop between slices. */
const SLICE_PIXELS = 1 << 18;

export async function cmykToRgb(cmyk: Uint8Array, pixels: number): Promise<Uint8Array> {
  const rgb = new Uint8Array(pixels * 3);
  for (let start = 0; start < pixels; start += SLICE_PIXELS) {
    if (start > 0) await new Promise((resolve) => setImmediate(resolve));
    const end = Math.min(pixels, start + SLICE_PIXELS);
    for (let p = start; p < end; p++) {
      const s = p * 4;
      const c = 255 - cmyk[s]!;
      const m = 255 - cmyk[s + 1]!;
      const y = 255 - cmyk[s + 2]!;
      const k = 255 - cmyk[s + 3]!;
      const o = p * 3;
      rgb[o] = k - (((255 - c) * k) >> 8);
      rgb[o + 1] = k - (((255 - m) * k) >> 8);
      rgb[o + 2] = k - (((255 - y) * k) >> 8);
    }
  }
  return rgb;
}
