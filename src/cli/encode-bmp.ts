/**
 * Encodes tight RGB pixels as a 24-bit uncompressed BMP. sharp (libvips) cannot write BMP, and an
 * annotated copy of `x.bmp` should still be a BMP named `x.bmp`.
 */
export function encodeBmp(rgb: Uint8Array, width: number, height: number): Buffer {
  const rowBytes = Math.ceil((width * 3) / 4) * 4; // rows are padded to 4 bytes
  const pixelBytes = rowBytes * height;
  const headerBytes = 14 + 40;
  const out = Buffer.alloc(headerBytes + pixelBytes);
  // BITMAPFILEHEADER
  out.write('BM', 0, 'ascii');
  out.writeUInt32LE(headerBytes + pixelBytes, 2);
  out.writeUInt32LE(headerBytes, 10);
  // BITMAPINFOHEADER; a negative height would mean top-down rows, but bottom-up is what every reader takes.
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(height, 22);
  out.writeUInt16LE(1, 26); // planes
  out.writeUInt16LE(24, 28); // bits per pixel
  out.writeUInt32LE(0, 30); // BI_RGB
  out.writeUInt32LE(pixelBytes, 34);
  out.writeInt32LE(2835, 38); // 72 dpi
  out.writeInt32LE(2835, 42);
  for (let y = 0; y < height; y++) {
    const src = y * width * 3;
    let dst = headerBytes + (height - 1 - y) * rowBytes;
    for (let x = 0; x < width; x++, dst += 3) {
      const s = src + x * 3;
      out[dst] = rgb[s + 2] ?? 0; // BMP stores BGR
      out[dst + 1] = rgb[s + 1] ?? 0;
      out[dst + 2] = rgb[s] ?? 0;
    }
  }
  return out;
}
