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
  /** 'ERR_IMAGE_NOT_FOUND' for a path that does not exist, 'ERR_BAD_IMAGE' for one that cannot be read. */
  code: 'ERR_IMAGE_NOT_FOUND' | 'ERR_BAD_IMAGE';
  message: string;
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
      problems.push(problemFor(source, err));
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
