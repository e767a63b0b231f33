import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Readable } from 'node:stream';
import { abortError, YoloTrtError } from '../errors.js';

/**
 * The system ffmpeg: $YOLO_TRT_FFMPEG, else `ffmpeg` on PATH. Never downloaded; absent means
 * ERR_FFMPEG_NOT_FOUND with what to install.
 */
export function findFfmpeg(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['YOLO_TRT_FFMPEG'];
  const candidates =
    explicit !== undefined && explicit !== ''
      ? [explicit]
      : (env['PATH'] ?? '')
          .split(delimiter)
          .filter((d) => d !== '')
          .map((d) => join(d, 'ffmpeg'));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // try the next one
    }
  }
  throw new YoloTrtError(
    'ERR_FFMPEG_NOT_FOUND',
    explicit
      ? `YOLO_TRT_FFMPEG=${explicit} is not an executable ffmpeg`
      : 'Videos, streams and webcams are read with a system ffmpeg, and none is on PATH: install it ' +
          '(Debian/Ubuntu: apt-get install ffmpeg) or set YOLO_TRT_FFMPEG to its path',
    { details: { path: explicit } },
  );
}

export type VideoKind = 'file' | 'stream' | 'webcam';

export interface FfmpegInput {
  /** A file path, a URL (rtsp://, rtmp://, http://...), or a webcam: a device path or an index. */
  source: string;
  kind: VideoKind;
  /** Input format for webcams (default v4l2 on Linux, avfoundation on macOS, dshow on Windows). */
  webcamFormat?: string;
  platform?: NodeJS.Platform;
}

/**
 * The ffmpeg command line that turns a source into packed BGR frames on stdout, the way
 * cv2.VideoCapture returns them: every decoded frame once, in decode order (`-vsync 0`: no frames
 * duplicated or dropped to fit a rate), rotation metadata applied (OpenCV applies it too), converted to
 * bgr24 by swscale's default (bicubic) conversion, which is OpenCV's as well.
 */
export function ffmpegArgs(input: FfmpegInput): string[] {
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'info'];
  if (input.kind === 'webcam') {
    const platform = input.platform ?? process.platform;
    const format =
      input.webcamFormat ??
      (platform === 'darwin' ? 'avfoundation' : platform === 'win32' ? 'dshow' : 'v4l2');
    // An index means /dev/videoN on Linux; avfoundation and dshow take the index or name as is.
    const device =
      format === 'v4l2' && /^\d+$/.test(input.source)
        ? `/dev/video${input.source}`
        : format === 'dshow'
          ? `video=${input.source}`
          : input.source;
    args.push('-f', format, '-i', device);
  } else if (input.kind === 'stream' && /^rtsps?:/i.test(input.source)) {
    // TCP: RTSP over UDP loses packets (grey smeared frames) on any real network.
    args.push('-rtsp_transport', 'tcp', '-i', input.source);
  } else {
    args.push('-i', input.source);
  }
  args.push(
    '-map',
    '0:v:0',
    '-an',
    '-sn',
    '-dn',
    '-vsync',
    '0',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'bgr24',
    'pipe:1',
  );
  return args;
}

/** The output stream line ffmpeg prints: "Stream #0:0: Video: rawvideo (BGR[24] ...), bgr24, 640x480 ..., 25 fps". */
export function parseOutputStream(stderr: string): { width: number; height: number; fps: number } | null {
  const out = stderr.indexOf('Output #0');
  if (out < 0) return null;
  const m = /Stream #0:0[^\n]*Video: rawvideo[^\n]*?, (\d+)x(\d+)[^\n]*\n/.exec(stderr.slice(out));
  if (m === null) return null;
  const fps = /, ([\d.]+) fps/.exec(m[0]) ?? /, ([\d.]+) tbr/.exec(m[0]);
  return { width: Number(m[1]), height: Number(m[2]), fps: fps ? Number(fps[1]) : 0 };
}

export interface VideoFrame {
  /** Packed BGR pixels, width*height*3 bytes (a fresh buffer per frame). */
  data: Buffer;
  width: number;
  height: number;
  /** 0-based index of the frame in the source. */
  index: number;
  /** Seconds from the start, index / fps (0 when the rate is unknown). */
  timestamp: number;
}

export interface FrameReaderOptions {
  /** Seconds without a frame (after the first) before the source counts as stalled; default 10. */
  stallTimeoutS?: number;
  /** Seconds to wait for the first frame (opening a network stream); default 30. */
  openTimeoutS?: number;
  signal?: AbortSignal;
  ffmpegPath?: string;
}

/**
 * Reads frames from an ffmpeg child process. Pulling is the back-pressure: a frame is read from the pipe
 * only when asked for, so a slow consumer pauses ffmpeg instead of buffering the video. A source that
 * stops producing frames is reported (ERR_SOURCE, 'stalled') instead of waiting forever; ffmpeg's own
 * failure is reported with its last message.
 */
export async function* readFrames(
  input: FfmpegInput,
  options: FrameReaderOptions = {},
): AsyncGenerator<VideoFrame> {
  const ffmpeg = options.ffmpegPath ?? findFfmpeg();
  const signal = options.signal;
  if (signal?.aborted) throw abortError(signal);
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(ffmpeg, ffmpegArgs(input), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    // Keep the head (stream info) and the tail (the last error), not the whole log of a long stream.
    stderr = stderr.length < 64_000 ? stderr + s : stderr.slice(0, 32_000) + stderr.slice(-16_000) + s;
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', (code) => resolve(code));
    child.once('error', () => resolve(-1));
  });
  let spawnError: Error | null = null;
  child.once('error', (err) => {
    spawnError = err;
  });
  const lastLine = () =>
    stderr
      .trim()
      .split('\n')
      .filter((l) => !/^\s*(frame=|Press \[q\])/.test(l))
      .slice(-1)[0]
      ?.trim() ?? '';

  const chunks: Buffer[] = [];
  let buffered = 0;
  let ended = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  child.stdout.on('data', (b: Buffer) => {
    chunks.push(b);
    buffered += b.length;
    // Back-pressure: stop reading the pipe while a couple of frames wait to be taken.
    if (frameBytes > 0 && buffered >= 2 * frameBytes) child.stdout.pause();
    notify();
  });
  child.stdout.once('end', () => {
    ended = true;
    notify();
  });
  child.once('close', () => {
    ended = true;
    notify();
  });
  const onAbort = () => notify();
  signal?.addEventListener('abort', onAbort);

  let frameBytes = 0;
  let width = 0;
  let height = 0;
  let fps = 0;
  let index = 0;
  let openDeadline: number | undefined;
  const wait = (ms: number) =>
    new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        wake = null;
        resolve(false);
      }, ms);
      wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  const sourceError = (message: string, reason: string) =>
    new YoloTrtError('ERR_SOURCE', `${input.source}: ${message}`, {
      details: { source: input.source, reason, ffmpeg: lastLine() },
    });

  try {
    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      if (spawnError !== null) {
        const e = spawnError as NodeJS.ErrnoException;
        if (e.code === 'ENOENT') findFfmpeg({ YOLO_TRT_FFMPEG: ffmpeg });
        throw sourceError(`cannot start ffmpeg: ${e.message}`, 'spawn');
      }
      if (frameBytes === 0) {
        const info = parseOutputStream(stderr);
        if (info !== null) {
          ({ width, height, fps } = info);
          frameBytes = width * height * 3;
        }
      }
      if (frameBytes > 0 && buffered >= frameBytes) {
        const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        const data = Buffer.from(all.subarray(0, frameBytes)); // own copy: the rest stays queued
        const rest = all.subarray(frameBytes);
        chunks.length = 0;
        if (rest.length > 0) chunks.push(rest);
        buffered = rest.length;
        if (buffered < 2 * frameBytes) child.stdout.resume();
        yield { data, width, height, index, timestamp: fps > 0 ? index / fps : 0 };
        index++;
        continue;
      }
      if (ended) {
        const code = await exited;
        if (spawnError !== null) continue;
        if (code !== 0 && index === 0) {
          throw sourceError(`ffmpeg could not read it (exit ${String(code)}): ${lastLine()}`, 'ffmpeg');
        }
        if (code !== 0) throw sourceError(`stream failed after ${index} frames: ${lastLine()}`, 'ffmpeg');
        if (buffered > 0 && frameBytes > 0) {
          throw sourceError(`stream ended inside a frame (${buffered} of ${frameBytes} bytes)`, 'truncated');
        }
        return;
      }
      const timeoutS = index === 0 ? (options.openTimeoutS ?? 30) : (options.stallTimeoutS ?? 10);
      // stderr data does not wake us; poll briefly while waiting for the stream header.
      const woke = await wait(frameBytes === 0 ? Math.min(100, timeoutS * 1000) : timeoutS * 1000);
      if (!woke && frameBytes > 0)
        throw sourceError(`no frame for ${timeoutS} s: the source stalled`, 'stalled');
      if (!woke && frameBytes === 0 && (openDeadline ??= Date.now() + timeoutS * 1000) < Date.now()) {
        throw sourceError(`no video after ${timeoutS} s`, 'stalled');
      }
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child.stdout.destroy();
    await exited;
  }
}
