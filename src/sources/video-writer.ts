import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { YoloTrtError } from '../errors.js';
import { findFfmpeg } from './ffmpeg.js';

/**
 * Encodes packed RGB frames into an H.264 .mp4 through the system ffmpeg (odd sizes padded by one
 * pixel, which yuv420p needs). Writing waits for the pipe to drain, so a slow encoder slows the caller
 * instead of buffering frames.
 */
export class VideoWriter {
  readonly #child: ChildProcessByStdio<Writable, null, Readable>;
  readonly #exited: Promise<number | null>;
  #stderr = '';

  private constructor(child: ChildProcessByStdio<Writable, null, Readable>) {
    this.#child = child;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      this.#stderr = (this.#stderr + s).slice(-4000);
    });
    this.#exited = new Promise((resolve) => {
      child.once('close', (code) => resolve(code));
      child.once('error', () => resolve(-1));
    });
    child.stdin.on('error', () => undefined); // reported by close() with ffmpeg's message
  }

  static open(path: string, width: number, height: number, fps: number, ffmpegPath?: string): VideoWriter {
    const ffmpeg = ffmpegPath ?? findFfmpeg();
    const rate = fps > 0 && Number.isFinite(fps) ? String(fps) : '30';
    const args = [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-s',
      `${width}x${height}`,
      '-r',
      rate,
      '-i',
      'pipe:0',
      '-vf',
      'pad=ceil(iw/2)*2:ceil(ih/2)*2',
      '-c:v',
      'libx264',
      '-pix_fmt',
      'yuv420p',
      '-movflags',
      '+faststart',
      path,
    ];
    return new VideoWriter(spawn(ffmpeg, args, { stdio: ['pipe', 'ignore', 'pipe'] }));
  }

  async write(rgb: Buffer): Promise<void> {
    if (!this.#child.stdin.write(rgb)) {
      await Promise.race([once(this.#child.stdin, 'drain'), this.#exited]);
    }
  }

  /** Finishes the file; rejects with ffmpeg's message if encoding failed. */
  async close(): Promise<void> {
    this.#child.stdin.end();
    const code = await this.#exited;
    if (code !== 0) {
      throw new YoloTrtError(
        'ERR_SOURCE',
        `ffmpeg could not write the video: ${this.#stderr.trim() || `exit ${String(code)}`}`,
      );
    }
  }
}
