import { invalidOption, YoloTrtError } from '../errors.js';
import type { NativeImage, PixelFormat } from '../native/binding.js';

/** Raw 8-bit pixels supplied by the caller (video frames, canvases, other decoders). */
export interface RawImageInput {
  data: Uint8Array;
  width: number;
  height: number;
  format: PixelFormat;
  /** Bytes per row; defaults to width * channels. */
  stride?: number;
}

export const CHANNELS: Readonly<Record<PixelFormat, number>> = { rgb: 3, bgr: 3, rgba: 4, bgra: 4, gray: 1 };

export function isRawImageInput(value: unknown): value is RawImageInput {
  return (
    typeof value === 'object' &&
    value !== null &&
    !ArrayBuffer.isView(value) &&
    'data' in value &&
    'width' in value &&
    'height' in value
  );
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

/** Checks a raw pixel input completely, so native code only ever sees consistent buffers. */
export function validateRawImage(input: RawImageInput, limitInputPixels: number): NativeImage {
  const { data, width, height, format } = input;
  if (!(data instanceof Uint8Array)) {
    throw invalidOption('image.data', 'a Uint8Array or Buffer of 8-bit pixels', data);
  }
  if (!isPositiveInt(width)) throw invalidOption('image.width', 'a positive integer', width);
  if (!isPositiveInt(height)) throw invalidOption('image.height', 'a positive integer', height);
  if (typeof format !== 'string' || !(format in CHANNELS)) {
    throw new YoloTrtError(
      'ERR_UNSUPPORTED_FORMAT',
      `Expected one of rgb, bgr, rgba, bgra, gray for image.format but received ${String(format)}`,
    );
  }
  if (width * height > limitInputPixels) {
    throw new YoloTrtError(
      'ERR_IMAGE_TOO_LARGE',
      `Image of ${width}x${height} = ${width * height} pixels exceeds limitInputPixels (${limitInputPixels})`,
    );
  }
  const rowBytes = width * CHANNELS[format];
  const stride = input.stride ?? rowBytes;
  if (!Number.isInteger(stride) || stride < rowBytes) {
    throw invalidOption('image.stride', `an integer >= width * channels (${rowBytes})`, stride);
  }
  const needed = stride * (height - 1) + rowBytes;
  if (data.byteLength < needed) {
    throw new YoloTrtError(
      'ERR_BAD_IMAGE',
      `Raw image data is ${data.byteLength} bytes but ${width}x${height} ${format} with stride ${stride} needs ${needed}`,
    );
  }
  return { data, width, height, stride, format };
}
