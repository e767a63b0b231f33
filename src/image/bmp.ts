/**
 * BMP decoding the way OpenCV 4.6's cv2.imread(IMREAD_COLOR) reads it, pixel for pixel, because that is
 * what the reference pipeline feeds the network (sharp's libvips has no BMP loader, and the npm decoders
 * scale 5-bit channels and honour masks differently from OpenCV). Written from OpenCV's documented
 * behaviour and checked against cv2 on fixtures (scripts/make-bmp-fixtures.py). What imread accepts:
 *
 *   - headers: BITMAPCOREHEADER (12 bytes, 3-byte palette) and every info header of 36 bytes or more
 *     (40, 52, 56, 108, 124); anything else is refused;
 *   - 1/4/8-bit palettes (missing entries are black), 24-bit, 32-bit (alpha and any BITFIELDS masks
 *     ignored: read as B, G, R, A), 16-bit as 5-5-5 (BI_RGB, or BITFIELDS with 5-5-5 masks) or 5-6-5
 *     (BITFIELDS 5-6-5 masks; other masks are refused), 5/6-bit channels widened by a left shift (low bits
 *     zero, as OpenCV does);
 *   - RLE8 and RLE4 with OpenCV's handling of end-of-line, delta (skipped pixels take palette entry 0) and
 *     end-of-bitmap; a run past the end of a line, or data that ends early, is refused as cv2 refuses it;
 *   - bottom-up and top-down (negative height) rows.
 *
 * Output: tightly packed BGR rows, as imread gives them. Long decodes yield to the event loop.
 */
import { YoloTrtError } from '../errors.js';

export interface BmpPixels {
  data: Uint8Array;
  width: number;
  height: number;
}

const BI_RGB = 0;
const BI_RLE8 = 1;
const BI_RLE4 = 2;
const BI_BITFIELDS = 3;

/** Bytes written between yields to the event loop (~1 ms of work). */
const YIELD_BYTES = 1 << 20;
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The BMP header says what it is before any pixel is decoded, so the pixel limit is checked first. */
export interface BmpHeader {
  width: number;
  height: number;
  bottomUp: boolean;
  bpp: number; // 15 for 5-5-5 data, 16 for 5-6-5
  compression: number;
  /** B, G, R of 256 entries (zeros past the stored ones). */
  palette: Uint8Array;
  dataOffset: number;
}

function refuse(where: string, why: string): YoloTrtError {
  return new YoloTrtError(
    'ERR_UNSUPPORTED_FORMAT',
    `${where} is a BMP variant OpenCV's imread does not read (${why}), so neither do we: convert it to PNG`,
    { details: { format: 'bmp', reason: why } },
  );
}

function truncated(where: string): YoloTrtError {
  return new YoloTrtError('ERR_BAD_IMAGE', `${where} is a truncated or corrupt BMP (its data ends early)`, {
    details: { format: 'bmp' },
  });
}

export function isBmp(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d;
}

export function readBmpHeader(bytes: Uint8Array, where: string): BmpHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (end: number): void => {
    if (end > bytes.length) throw truncated(where);
  };
  need(18);
  const dataOffset = view.getInt32(10, true);
  const size = view.getInt32(14, true);
  if (size <= 0) throw refuse(where, `header size ${size}`);
  const palette = new Uint8Array(256 * 3);
  let width: number;
  let height: number;
  let bpp: number;
  let compression = BI_RGB;
  if (size >= 36) {
    need(50);
    width = view.getInt32(18, true);
    height = view.getInt32(22, true);
    bpp = view.getUint32(26, true) >>> 16; // planes ignored, as OpenCV does
    compression = view.getInt32(30, true);
    const colorsUsed = view.getInt32(46, true);
    const plain = compression === BI_RGB;
    const accepted =
      ([1, 4, 8, 24, 32].includes(bpp) && plain) ||
      ((bpp === 16 || bpp === 32) && (plain || compression === BI_BITFIELDS)) ||
      (bpp === 4 && compression === BI_RLE4) ||
      (bpp === 8 && compression === BI_RLE8);
    if (!(width > 0 && height !== 0 && accepted))
      throw refuse(where, `${width}x${height}, ${bpp} bits per pixel, compression ${compression}`);
    const after = 14 + size; // palette or 16-bit masks follow the header as OpenCV reads it
    if (bpp <= 8) {
      if (colorsUsed < 0 || colorsUsed > 256) throw refuse(where, `${colorsUsed} palette colours`);
      const entries = colorsUsed === 0 ? 1 << bpp : colorsUsed;
      need(after + entries * 4);
      for (let i = 0; i < entries; i++) {
        palette[i * 3] = bytes[after + i * 4] as number;
        palette[i * 3 + 1] = bytes[after + i * 4 + 1] as number;
        palette[i * 3 + 2] = bytes[after + i * 4 + 2] as number;
      }
    } else if (bpp === 16 && compression === BI_BITFIELDS) {
      need(after + 12);
      const red = view.getInt32(after, true);
      const green = view.getInt32(after + 4, true);
      const blue = view.getInt32(after + 8, true);
      if (blue === 0x1f && green === 0x3e0 && red === 0x7c00) bpp = 15;
      else if (!(blue === 0x1f && green === 0x7e0 && red === 0xf800))
        throw refuse(where, '16-bit masks other than 5-5-5 and 5-6-5');
    } else if (bpp === 16) {
      bpp = 15;
    }
  } else if (size === 12) {
    need(26);
    width = view.getUint16(18, true);
    height = view.getUint16(20, true);
    bpp = view.getUint32(22, true) >>> 16;
    if (!(width > 0 && height !== 0 && [1, 4, 8, 24, 32].includes(bpp)))
      throw refuse(where, `${width}x${height}, ${bpp} bits per pixel`);
    if (bpp <= 8) {
      const entries = 1 << bpp;
      need(26 + entries * 3);
      palette.set(bytes.subarray(26, 26 + entries * 3));
    }
  } else {
    throw refuse(where, `header size ${size}`);
  }
  return { width, height: Math.abs(height), bottomUp: height > 0, bpp, compression, palette, dataOffset };
}

/** Decodes the pixels of a BMP whose header was read with readBmpHeader. */
export async function decodeBmpPixels(bytes: Uint8Array, h: BmpHeader, where: string): Promise<BmpPixels> {
  const { width, height, bpp, palette } = h;
  const w3 = width * 3;
  const out = new Uint8Array(w3 * height);
  if (h.dataOffset < 0 || h.dataOffset > bytes.length) throw truncated(where);
  /** Where image row y (0 = first in the file) starts in `out`. */
  const rowStart = (y: number): number => (h.bottomUp ? height - 1 - y : y) * w3;

  if (h.compression === BI_RLE8 || h.compression === BI_RLE4) {
    const ok = await decodeRle(bytes, h, out, rowStart, where);
    if (!ok) {
      throw new YoloTrtError(
        'ERR_BAD_IMAGE',
        `${where} is a corrupt RLE BMP (a run goes past the end of a line), which OpenCV's imread refuses too`,
        { details: { format: 'bmp' } },
      );
    }
    return { data: out, width, height };
  }

  const bitsPerPixel = bpp === 15 ? 16 : bpp;
  const pitch = (((width * bitsPerPixel + 7) >> 3) + 3) & ~3;
  if (h.dataOffset + pitch * height > bytes.length) throw truncated(where);
  let sinceYield = 0;
  for (let y = 0; y < height; y++) {
    const src = h.dataOffset + y * pitch;
    let o = rowStart(y);
    switch (bpp) {
      case 1:
      case 4:
      case 8: {
        const perByte = 8 / bpp;
        const mask = (1 << bpp) - 1;
        for (let x = 0; x < width; x++, o += 3) {
          const byte = bytes[src + Math.floor(x / perByte)] as number;
          const index = (byte >> ((perByte - 1 - (x % perByte)) * bpp)) & mask;
          out[o] = palette[index * 3] as number;
          out[o + 1] = palette[index * 3 + 1] as number;
          out[o + 2] = palette[index * 3 + 2] as number;
        }
        break;
      }
      case 15:
      case 16:
        for (let x = 0; x < width; x++, o += 3) {
          const v = (bytes[src + 2 * x] as number) | ((bytes[src + 2 * x + 1] as number) << 8);
          out[o] = (v << 3) & 0xf8;
          out[o + 1] = bpp === 15 ? (v >> 2) & 0xf8 : (v >> 3) & 0xfc;
          out[o + 2] = bpp === 15 ? (v >> 7) & 0xf8 : (v >> 8) & 0xf8;
        }
        break;
      case 24:
        out.set(bytes.subarray(src, src + w3), o);
        break;
      case 32:
        for (let x = 0; x < width; x++, o += 3) {
          out[o] = bytes[src + 4 * x] as number;
          out[o + 1] = bytes[src + 4 * x + 1] as number;
          out[o + 2] = bytes[src + 4 * x + 2] as number;
        }
        break;
    }
    sinceYield += w3;
    if (sinceYield >= YIELD_BYTES) {
      sinceYield = 0;
      await yieldToLoop();
    }
  }
  return { data: out, width, height };
}

/**
 * RLE8 / RLE4 as OpenCV's BmpDecoder runs them: `data` is the write position and `lineEnd` the end of
 * the current row in `out`; filling past a row's end continues at the start of the next row. Returns
 * false where OpenCV gives up ("bad" runs); throws where OpenCV's stream would run out of data.
 */
async function decodeRle(
  bytes: Uint8Array,
  h: BmpHeader,
  out: Uint8Array,
  rowStart: (y: number) => number,
  where: string,
): Promise<boolean> {
  const { width, height, palette } = h;
  const w3 = width * 3;
  const rle8 = h.compression === BI_RLE8;
  let pos = h.dataOffset;
  const byte = (): number => {
    if (pos >= bytes.length) throw truncated(where);
    return bytes[pos++] as number;
  };
  let y = 0;
  let data = rowStart(0);
  let lineEnd = data + w3;
  const put = (at: number, index: number): void => {
    out[at] = palette[index * 3] as number;
    out[at + 1] = palette[index * 3 + 1] as number;
    out[at + 2] = palette[index * 3 + 2] as number;
  };
  /** FillUniColor: `count3` bytes of colour `index`, wrapping to the next rows; stops after the last row. */
  const fill = (count3: number, index: number): void => {
    do {
      const end = Math.min(data + count3, lineEnd);
      count3 -= end - data;
      for (; data < end; data += 3) put(data, index);
      if (data >= lineEnd) {
        if (++y >= height) break;
        data = rowStart(y);
        lineEnd = data + w3;
      }
    } while (count3 > 0);
  };
  let lineEndFlag = 0;
  let iterations = 0;
  for (;;) {
    if (++iterations % 65536 === 0) await yieldToLoop();
    const len = byte();
    const code = byte();
    if (len !== 0) {
      // Encoded run: `len` pixels of one colour (RLE8) or of two alternating colours (RLE4).
      if (rle8) {
        const prevY = y;
        if (data + len * 3 > lineEnd) return false;
        fill(len * 3, code);
        lineEndFlag = y - prevY;
        if (y >= height) break;
      } else {
        const end = data + len * 3;
        if (end > lineEnd) return false;
        const colors = [code >> 4, code & 15];
        let t = 0;
        do {
          put(data, colors[t] as number);
          t ^= 1;
        } while ((data += 3) < end);
      }
    } else if (code > 2) {
      // Absolute run: `code` literal indices, padded to a 16-bit boundary.
      const prevY = y;
      if (data + code * 3 > lineEnd) return false;
      const size = rle8 ? (code + 1) & ~1 : (((code + 1) >> 1) + 1) & ~1;
      if (pos + size > bytes.length) throw truncated(where);
      for (let i = 0; i < code; i++, data += 3) {
        const b = bytes[pos + (rle8 ? i : i >> 1)] as number;
        put(data, rle8 ? b : i % 2 === 0 ? b >> 4 : b & 15);
      }
      pos += size;
      lineEndFlag = y - prevY;
    } else if (rle8) {
      // 0 end of line, 1 end of bitmap, 2 delta: skipped pixels take palette entry 0.
      let xShift3 = lineEnd - data;
      let yShift = height - y;
      if (code !== 0 || lineEndFlag === 0 || xShift3 < w3) {
        if (code === 2) {
          xShift3 = byte() * 3;
          yShift = byte();
        }
        if (code !== 0) xShift3 += yShift * w3;
        if (y >= height) break;
        fill(xShift3, 0);
        if (y >= height) break;
      }
      lineEndFlag = 0;
      if (y >= height) break;
    } else {
      // RLE4 as OpenCV runs it: end of line and end of bitmap fill the rest of the row; a delta fills
      // its x offset only.
      let xShift3 = lineEnd - data;
      if (code === 2) {
        xShift3 = byte() * 3;
        byte(); // the y offset, read and not used
      }
      fill(xShift3, 0);
      if (y >= height) break;
    }
  }
  return true;
}
