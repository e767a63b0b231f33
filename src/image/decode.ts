import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import sharp, { type Metadata, type Sharp } from 'sharp';
import { invalidOption, YoloTrtError } from '../errors.js';
import type { NativeImage } from '../native/binding.js';
import { decodeBmpPixels, isBmp, readBmpHeader } from './bmp.js';
import { cmykToRgb } from './cmyk.js';
import { isRawImageInput, validateRawImage, type RawImageInput } from './raw-input.js';

/** What `detect()` accepts: a file path, encoded image bytes, or raw pixels. */
export type ImageInput = string | Uint8Array | RawImageInput;

/** Default pixel limit: ~100 MP. Decompression bombs are refused before any pixel is decoded. */
export const DEFAULT_LIMIT_INPUT_PIXELS = 100_000_000;

/**
 * Raster formats we decode. OpenCV's imread (the reference) reads none of sharp's vector or document
 * inputs (SVG, PDF), and rendering those from untrusted bytes is a risk we do not need.
 */
const RASTER_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif', 'avif', 'jp2', 'jxl', 'raw']);

/** Formats whose EXIF orientation cv2.imread applies. */
const ORIENTED_FORMATS = new Set(['jpeg', 'png', 'tiff']);

/** Default largest image file read: 256 MiB. Checked from the file's size before a byte is read. */
export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;

export interface DecodeOptions {
  limitInputPixels?: number;
  /** Largest image file read from a path, bytes (default DEFAULT_MAX_FILE_BYTES). */
  maxFileBytes?: number;
}

export interface DecodedImage extends NativeImage {
  /** Where the image came from, for messages (path, or 'buffer'). */
  source: string;
}

/**
 * Decodes any accepted input into 8-bit RGB (or gray) pixels, the way the reference pipeline reads
 * images: EXIF orientation applied where OpenCV's imread applies it (JPEG, PNG, TIFF), embedded ICC profiles ignored
 * (imread does not colour-manage), alpha dropped (IMREAD_COLOR drops it), CMYK converted with OpenCV's
 * arithmetic. Runs in libvips' threads.
 */
export async function decodeImage(input: ImageInput, options: DecodeOptions = {}): Promise<DecodedImage> {
  const limit = options.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS;
  if (typeof input === 'string') {
    const bytes = await readImageFile(input, options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES);
    return decodeEncoded(bytes, input, limit);
  }
  if (input instanceof Uint8Array) return decodeEncoded(input, 'buffer', limit);
  if (isRawImageInput(input)) return { ...validateRawImage(input, limit), source: 'raw' };
  throw invalidOption('image', 'a file path, a Buffer/Uint8Array of an encoded image, or raw pixels', input);
}

/**
 * Reads an image file, bounded: only regular files (a FIFO, a device such as /dev/zero, a socket or a
 * directory is refused: they have no size to check and may never end), and only when its size is at
 * most `maxBytes`, checked before reading. Opened non-blocking so that opening a FIFO with no writer
 * returns at once instead of hanging; the type is checked on the opened descriptor, so the file cannot
 * be swapped between the check and the read. A file that grows while read is cut at its checked size.
 */
export async function readImageFile(path: string, maxBytes: number): Promise<Buffer> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new YoloTrtError(
      code === 'ENOENT' || code === 'ENOTDIR' ? 'ERR_IMAGE_NOT_FOUND' : 'ERR_BAD_IMAGE',
      `Cannot read image ${path}: ${(err as Error).message}`,
      { cause: err, details: { path } },
    );
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      throw new YoloTrtError(
        'ERR_BAD_IMAGE',
        `Cannot read image ${path}: not a regular file (${fileKind(info)}); images are read from regular files only`,
        { details: { path } },
      );
    }
    if (info.size > maxBytes) {
      throw new YoloTrtError(
        'ERR_IMAGE_TOO_LARGE',
        `Image ${path} is ${info.size} bytes, over maxFileBytes (${maxBytes})`,
        { details: { path, size: info.size, maxFileBytes: maxBytes } },
      );
    }
    const bytes = Buffer.allocUnsafe(info.size);
    let filled = 0;
    while (filled < bytes.length) {
      const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, filled);
      if (bytesRead === 0) break; // shrank while read: decode what is there
      filled += bytesRead;
    }
    return bytes.subarray(0, filled);
  } catch (err) {
    if (err instanceof YoloTrtError) throw err;
    throw new YoloTrtError('ERR_BAD_IMAGE', `Cannot read image ${path}: ${(err as Error).message}`, {
      cause: err,
      details: { path },
    });
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function fileKind(info: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
}): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  return 'not a file';
}

async function decodeEncoded(bytes: Uint8Array, source: string, limit: number): Promise<DecodedImage> {
  const where = source === 'buffer' ? 'Image buffer' : `Image ${source}`;
  if (bytes.byteLength === 0) {
    throw new YoloTrtError('ERR_BAD_IMAGE', `${where} is empty (0 bytes)`, { details: { source } });
  }
  if (isBmp(bytes)) {
    // libvips (sharp) has no BMP loader: ours reads BMP exactly as cv2.imread does (./bmp.ts).
    const header = readBmpHeader(bytes, where);
    if (header.width * header.height > limit)
      throw tooLarge(where, source, header.width, header.height, limit);
    const bmp = await decodeBmpPixels(bytes, header, where);
    return { ...bmp, stride: bmp.width * 3, format: 'bgr', source };
  }
  const pipeline = sharp(bytes, {
    limitInputPixels: limit,
    failOn: 'warning',
    ignoreIcc: true,
  });
  let meta: Metadata;
  try {
    // The header alone (no limit here, so an oversized image is reported with its size below; the decode
    // pipeline keeps sharp's own limit as a second guard).
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw mapSharpError(err, where, source);
  }
  const format = meta.format;
  const pixels = (meta.width ?? 0) * (meta.height ?? 0);
  if (pixels > limit) throw tooLarge(where, source, meta.width ?? 0, meta.height ?? 0, limit);
  if (format === undefined || !RASTER_FORMATS.has(format)) {
    throw new YoloTrtError(
      'ERR_UNSUPPORTED_FORMAT',
      `${where} is ${format ?? 'an unknown format'}; expected a raster image (JPEG, PNG, WebP, GIF, TIFF, AVIF/HEIF)`,
      { details: { source, format } },
    );
  }
  // imread (OpenCV 4.6) applies EXIF orientation to JPEG, PNG and TIFF, not to WebP (checked with
  // cv2 on fixtures): orient exactly where the reference does.
  if (ORIENTED_FORMATS.has(format)) pipeline.autoOrient();
  try {
    if (meta.space === 'cmyk' && format === 'jpeg') return await decodeCmykJpeg(pipeline, source);
    const { data, info } = await pipeline
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 && info.channels !== 1) {
      throw new YoloTrtError('ERR_UNSUPPORTED_FORMAT', `${where} decoded to ${info.channels} channels`);
    }
    const data8 = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return {
      data: data8,
      width: info.width,
      height: info.height,
      stride: info.width * info.channels,
      format: info.channels === 3 ? 'rgb' : 'gray',
      source,
    };
  } catch (err) {
    if (err instanceof YoloTrtError) throw err;
    throw mapSharpError(err, where, source);
  }
}

/** CMYK JPEGs: the raw CMYK samples, converted to RGB with OpenCV's arithmetic (see ./cmyk.ts). */
async function decodeCmykJpeg(pipeline: Sharp, source: string): Promise<DecodedImage> {
  const { data, info } = await pipeline
    .pipelineColourspace('cmyk')
    .toColourspace('cmyk')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 4) {
    throw new YoloTrtError(
      'ERR_UNSUPPORTED_FORMAT',
      `CMYK image ${source} decoded to ${info.channels} channels`,
    );
  }
  const rgb = await cmykToRgb(
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    info.width * info.height,
  );
  return { data: rgb, width: info.width, height: info.height, stride: info.width * 3, format: 'rgb', source };
}

/** The image's size, its pixel count and the limit, so the caller knows how far over it is. */
function tooLarge(where: string, source: string, width: number, height: number, limit: number): YoloTrtError {
  return new YoloTrtError(
    'ERR_IMAGE_TOO_LARGE',
    `${where} is ${width}x${height} = ${width * height} pixels, over limitInputPixels (${limit}); ` +
      'raise limitInputPixels if you trust the source',
    { details: { source, width, height, pixels: width * height, limit } },
  );
}

function mapSharpError(err: unknown, where: string, source: string): YoloTrtError {
  const message = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(message)) {
    return new YoloTrtError('ERR_IMAGE_TOO_LARGE', `${where} exceeds the pixel limit: ${message}`, {
      cause: err,
      details: { source },
    });
  }
  if (/unsupported image format/i.test(message)) {
    return new YoloTrtError('ERR_UNSUPPORTED_FORMAT', `${where} is not a supported image format`, {
      cause: err,
      details: { source },
    });
  }
  return new YoloTrtError('ERR_BAD_IMAGE', `${where} could not be decoded: ${message.trim()}`, {
    cause: err,
    details: { source },
  });
}
