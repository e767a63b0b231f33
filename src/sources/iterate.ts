import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { glob } from 'tinyglobby';
import { YoloTrtError } from '../errors.js';
import type { RawImageInput } from '../image/raw-input.js';
import { readFrames, type FrameReaderOptions, type VideoKind } from './ffmpeg.js';
import { sourceKind, VIDEO_EXTENSIONS } from './kind.js';
import { fetchBytes, type FetchLimits } from './url.js';

/** Still-image extensions picked from folders and globs. */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.bmp',
  '.tif',
  '.tiff',
  '.gif',
  '.avif',
]);

/** One image to detect on: a file path, downloaded bytes, or a decoded video frame. */
export interface SourceItem {
  input: string | Uint8Array | RawImageInput;
  /** The file, URL or stream it came from. */
  path: string;
  /** Frame index within a video or stream (absent for still images). */
  frame?: number;
  /** Seconds from the start of the video (absent for still images). */
  timestamp?: number;
}

export interface SourceOptions extends Pick<
  FrameReaderOptions,
  'stallTimeoutS' | 'openTimeoutS' | 'ffmpegPath'
> {
  /** Use every n-th video frame (Ultralytics' vid_stride); default 1. */
  vidStride?: number;
  /** Limits for http(s) image downloads. */
  url?: Omit<FetchLimits, 'signal'>;
  signal?: AbortSignal;
}

/** Files under a folder or matched by a glob, sorted, split into images and videos. */
export async function expandPaths(source: string): Promise<{ images: string[]; videos: string[] }> {
  let files: string[];
  if (sourceKind(source) === 'glob') {
    files = (await glob(source, { onlyFiles: true, expandDirectories: false })).sort();
  } else {
    const s = await stat(source).catch((err: unknown) => {
      throw new YoloTrtError('ERR_IMAGE_NOT_FOUND', `Cannot read ${source}: ${(err as Error).message}`, {
        details: { path: source },
        cause: err,
      });
    });
    if (!s.isDirectory()) files = [source];
    else
      files = (await readdir(source, { withFileTypes: true }))
        .filter((e) => e.isFile())
        .map((e) => join(source, e.name))
        .sort();
  }
  const ext = (f: string) => extname(f).toLowerCase();
  return {
    images: files.filter(
      (f) => IMAGE_EXTENSIONS.has(ext(f)) || (files.length === 1 && !VIDEO_EXTENSIONS.has(ext(f))),
    ),
    videos: files.filter((f) => VIDEO_EXTENSIONS.has(ext(f))),
  };
}

function checkStride(vidStride: number | undefined): number {
  const n = vidStride ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > 10_000) {
    throw new YoloTrtError(
      'ERR_INVALID_OPTION',
      `Expected an integer between 1 and 10000 for vidStride but received ${String(vidStride)}`,
      {
        details: { option: 'vidStride' },
      },
    );
  }
  return n;
}

/** Frames of a video, stream or webcam, every `vidStride`-th one, as raw BGR inputs. */
export async function* videoItems(
  source: string,
  kind: VideoKind,
  options: SourceOptions = {},
): AsyncGenerator<SourceItem> {
  const stride = checkStride(options.vidStride);
  for await (const f of readFrames({ source, kind }, options)) {
    if (f.index % stride !== 0) continue;
    yield {
      input: { data: f.data, width: f.width, height: f.height, format: 'bgr' },
      path: source,
      frame: f.index,
      timestamp: f.timestamp,
    };
  }
}

/**
 * Everything a source string names, one image at a time, in order: an image file, a folder or glob
 * (images, then videos frame by frame), an http(s) image URL (downloaded within limits), a video file, a
 * stream URL (rtsp, rtmp, http video, HLS) or a webcam (index or /dev/videoN).
 */
export async function* iterateSource(
  source: string,
  options: SourceOptions = {},
): AsyncGenerator<SourceItem> {
  checkStride(options.vidStride);
  const kind = sourceKind(source);
  switch (kind) {
    case 'image-url':
      yield { input: await fetchBytes(source, { ...options.url, signal: options.signal }), path: source };
      return;
    case 'stream':
      yield* videoItems(source, 'stream', options);
      return;
    case 'webcam':
      yield* videoItems(source, 'webcam', options);
      return;
    case 'video':
      yield* videoItems(source, 'file', options);
      return;
    default: {
      const { images, videos } = await expandPaths(source);
      if (images.length === 0 && videos.length === 0) {
        throw new YoloTrtError('ERR_IMAGE_NOT_FOUND', `No images or videos found in ${source}`, {
          details: { path: source },
        });
      }
      for (const image of images) yield { input: image, path: image };
      for (const video of videos) yield* videoItems(video, 'file', options);
    }
  }
}
