import { extname } from 'node:path';

/** Video container extensions read through ffmpeg (as Ultralytics' VID_FORMATS, the common ones). */
export const VIDEO_EXTENSIONS: ReadonlySet<string> = new Set([
  '.mp4',
  '.mkv',
  '.avi',
  '.mov',
  '.webm',
  '.m4v',
  '.mpeg',
  '.mpg',
  '.wmv',
  '.flv',
  '.ts',
  '.asf',
  '.gif.mp4',
]);

/** Stream manifests and URL schemes that only ffmpeg can read. */
const STREAM_EXTENSIONS = new Set(['.m3u8', '.mpd', '.ts', '.flv']);
const STREAM_SCHEMES = /^(rtsps?|rtmps?|rtp|udp|tcp|srt|mms):\/\//i;

export type SourceKind = 'image-url' | 'stream' | 'webcam' | 'video' | 'glob' | 'path';

/**
 * What a source string is, by its form alone (no I/O): an http(s) URL of an image or of a video/stream,
 * an RTSP/RTMP/... stream, a webcam (an index such as "0", or /dev/videoN), a glob, a video file, or
 * another path (an image file or a folder, resolved later).
 */
export function sourceKind(source: string): SourceKind {
  if (STREAM_SCHEMES.test(source)) return 'stream';
  if (/^https?:\/\//i.test(source)) {
    let pathname: string;
    try {
      pathname = new URL(source).pathname.toLowerCase();
    } catch {
      return 'image-url'; // refused with a clear message when fetched
    }
    const ext = extname(pathname);
    return VIDEO_EXTENSIONS.has(ext) || STREAM_EXTENSIONS.has(ext) ? 'stream' : 'image-url';
  }
  if (/^\d+$/.test(source) || /^\/dev\/video\d+$/.test(source)) return 'webcam';
  if (/[*?[\]{}]/.test(source)) return 'glob';
  if (VIDEO_EXTENSIONS.has(extname(source).toLowerCase())) return 'video';
  return 'path';
}
