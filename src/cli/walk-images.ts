import { readdir, realpath, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';

/** File extensions treated as images when walking a directory (compared lower-cased). */
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

export function isImagePath(path: string): boolean {
  return IMAGE_EXTENSIONS.has(extname(path).toLowerCase());
}

export interface WalkProblem {
  path: string;
  /**
   * 'ERR_IMAGE_NOT_FOUND' for a path that does not exist, 'ERR_BAD_IMAGE' for one that cannot be read,
   * 'ERR_UNSUPPORTED_SOURCE' for a URL, an unexpanded glob, a video or a model file given as a source.
   */
  code: 'ERR_IMAGE_NOT_FOUND' | 'ERR_BAD_IMAGE' | 'ERR_UNSUPPORTED_SOURCE';
  message: string;
}

const SUPPORTED =
  'sources are image files (JPEG, PNG, WebP, BMP, GIF, TIFF, AVIF), folders, globs, http(s) URLs, videos, streams and webcams';
const VIDEO_EXTENSIONS: ReadonlySet<string> = new Set([
  '.mp4',
  '.avi',
  '.mov',
  '.mkv',
  '.webm',
  '.m4v',
  '.mpeg',
  '.mpg',
  '.wmv',
  '.flv',
  '.asf',
  '.gifv',
]);
const MODEL_EXTENSIONS: ReadonlySet<string> = new Set(['.pt', '.pth', '.onnx', '.engine', '.plan']);

/**
 * Sources Ultralytics accepts that this CLI does not (yet): named, with what to do instead, rather than
 * "no such file" or "not a supported image format". Null when `source` looks like a path to try.
 */
export function unsupportedSource(source: string, exists: boolean): string | null {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
    return `URLs and streams are not read (${SUPPORTED}); download the image first`;
  }
  const ext = extname(source).toLowerCase();
  if (VIDEO_EXTENSIONS.has(ext)) {
    return `videos are not supported (${SUPPORTED}); extract frames first, e.g. \`ffmpeg -i ${source} frames/%06d.jpg\`, and pass the folder`;
  }
  if (MODEL_EXTENSIONS.has(ext)) {
    return `this is a model file, not an image (${SUPPORTED}); pass the model with --model`;
  }
  if (!exists && /[*?[\]{}]/.test(source)) {
    return `a glob pattern reached yolo-trt unexpanded (${SUPPORTED}); leave it unquoted so the shell expands it, or pass the folder`;
  }
  return null;
}

export interface WalkResult {
  /** Image paths in command-line order; each directory's images sorted; no path twice. */
  images: string[];
  problems: WalkProblem[];
}

function problemFor(path: string, err: unknown): WalkProblem {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT' || e.code === 'ENOTDIR') {
    return { path, code: 'ERR_IMAGE_NOT_FOUND', message: 'no such file or directory' };
  }
  return { path, code: 'ERR_BAD_IMAGE', message: e.message };
}

/** Collects image files below `dir` (symlinks followed, each real directory visited once). */
async function walkDirectory(
  dir: string,
  seen: Set<string>,
  out: string[],
  problems: WalkProblem[],
): Promise<void> {
  let entries;
  try {
    const real = await realpath(dir);
    if (seen.has(real)) return; // a symlink loop, or the same tree given twice
    seen.add(real);
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    problems.push(problemFor(dir, err));
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      try {
        const s = await stat(path);
        isDir = s.isDirectory();
        isFile = s.isFile();
      } catch {
        continue; // a dangling link inside a tree is not something the user asked for by name
      }
    }
    if (isDir) await walkDirectory(path, seen, out, problems);
    else if (isFile && isImagePath(path)) out.push(path);
  }
}

/**
 * Expands command-line sources into image files. A file named explicitly is kept whatever its extension
 * (the decoder sniffs the content); directories are walked recursively for image extensions and their
 * images sorted by path. Paths keep the form the user gave (relative stays relative).
 */
export async function walkImages(sources: readonly string[]): Promise<WalkResult> {
  const images: string[] = [];
  const problems: WalkProblem[] = [];
  const seenDirs = new Set<string>();
  const seenFiles = new Set<string>();
  const add = (path: string): void => {
    const key = resolve(path);
    if (seenFiles.has(key)) return;
    seenFiles.add(key);
    images.push(path);
  };
  for (const source of sources) {
    let info;
    try {
      info = await stat(source);
    } catch (err) {
      const why = unsupportedSource(source, false);
      problems.push(
        why === null
          ? problemFor(source, err)
          : { path: source, code: 'ERR_UNSUPPORTED_SOURCE', message: why },
      );
      continue;
    }
    const why = info.isDirectory() ? null : unsupportedSource(source, true);
    if (why !== null) {
      problems.push({ path: source, code: 'ERR_UNSUPPORTED_SOURCE', message: why });
      continue;
    }
    if (info.isDirectory()) {
      const found: string[] = [];
      await walkDirectory(source, seenDirs, found, problems);
      found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      found.forEach(add);
    } else {
      add(source);
    }
  }
  return { images, problems };
}
