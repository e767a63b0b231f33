import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, resolve, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { YoloTrtError } from '../errors.js';
import type { Target } from './metrics.js';

/** Image extensions Ultralytics' dataset loader accepts (that we can decode). */
const IMAGE_EXTENSIONS = new Set([
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.tif',
  '.tiff',
  '.gif',
  '.avif',
  '.heic',
]);

export interface Dataset {
  /** Image files, sorted. */
  images: string[];
  /** Class names from data.yaml, when it has them. */
  names?: string[];
  /** Where it came from, for messages. */
  source: string;
}

function datasetError(message: string, details: Record<string, unknown> = {}, cause?: unknown): YoloTrtError {
  return new YoloTrtError('ERR_DATASET', message, { details, cause });
}

async function isDir(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

async function listImages(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true });
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) out.push(p);
    }
  };
  await walk(dir);
  return out.sort();
}

/** A `val:` entry: a folder of images, or a .txt listing image paths (relative to the dataset root). */
async function imagesOf(entry: string, root: string): Promise<string[]> {
  const p = isAbsolute(entry) ? entry : resolve(root, entry);
  if (await isDir(p)) return listImages(p);
  if (extname(p).toLowerCase() === '.txt') {
    const text = await readFile(p, 'utf8').catch((err: unknown) => {
      throw datasetError(`Cannot read image list ${p}: ${(err as Error).message}`, { path: p }, err);
    });
    return text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .map((l) => (isAbsolute(l) ? l : resolve(root, l)));
  }
  throw datasetError(`Dataset split ${p} is neither a folder of images nor a .txt list`, { path: p });
}

function namesFrom(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return value.map(String);
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).map(
      ([k, v]) => [Number(k), String(v)] as const,
    );
    const out: string[] = [];
    for (const [k, v] of entries) if (Number.isInteger(k) && k >= 0) out[k] = v;
    return Array.from(out, (v, i) => v ?? `class${i}`);
  }
  return undefined;
}

/**
 * The validation images of a YOLO-format dataset: a data.yaml (its `path` and `val` keys, `names`), or a
 * folder laid out like one (`images/val` if present, else `images/`, else the folder itself).
 */
export async function loadDataset(data: string, split = 'val'): Promise<Dataset> {
  let images: string[];
  let names: string[] | undefined;
  if (/\.ya?ml$/i.test(data)) {
    let doc: unknown;
    try {
      doc = parseYaml(await readFile(data, 'utf8'));
    } catch (err) {
      throw datasetError(`Cannot read dataset file ${data}: ${(err as Error).message}`, { path: data }, err);
    }
    if (doc === null || typeof doc !== 'object')
      throw datasetError(`Dataset file ${data} is not a YAML mapping`, { path: data });
    const y = doc as Record<string, unknown>;
    const base = dirname(resolve(data));
    const root = typeof y['path'] === 'string' ? resolve(base, y['path']) : base;
    const entry = y[split];
    const entries = typeof entry === 'string' ? [entry] : Array.isArray(entry) ? entry.map(String) : [];
    if (entries.length === 0)
      throw datasetError(`Dataset file ${data} has no '${split}' split`, { path: data });
    images = (await Promise.all(entries.map((e) => imagesOf(e, root)))).flat();
    names = namesFrom(y['names']);
  } else {
    if (!(await isDir(data)))
      throw datasetError(`Dataset ${data} is not a folder or a data.yaml`, { path: data });
    const candidates = [join(data, 'images', split), join(data, 'images'), data];
    let dir = data;
    for (const c of candidates) {
      if (await isDir(c)) {
        dir = c;
        break;
      }
    }
    images = await listImages(dir);
  }
  if (images.length === 0) throw datasetError(`No images found in dataset ${data}`, { path: data });
  return { images, names, source: data };
}

/** Ultralytics' label location: the last `/images/` in the path becomes `/labels/`, extension `.txt`. */
export function labelPathOf(image: string): string {
  const marker = `${sep}images${sep}`;
  const at = image.lastIndexOf(marker);
  const stem = basename(image, extname(image));
  const dir = dirname(image);
  if (at < 0) return join(dir, `${stem}.txt`);
  const labelDir = `${image.slice(0, at)}${sep}labels${sep}${dir.slice(at + marker.length)}`;
  return join(labelDir, `${stem}.txt`);
}

/**
 * Labels of one image in pixels: rows "cls xc yc w h" (normalised), or "cls x1 y1 x2 y2 ..." polygons
 * (their bounding box). A missing file means no objects (a background image).
 */
export async function readLabels(image: string, width: number, height: number): Promise<Target[]> {
  const file = labelPathOf(image);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw datasetError(`Cannot read labels ${file}: ${(err as Error).message}`, { path: file }, err);
  }
  const targets: Target[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const parts = line
      .trim()
      .split(/\s+/)
      .filter((p) => p !== '');
    if (parts.length === 0) return;
    const v = parts.map(Number);
    const bad = () =>
      datasetError(`Label ${file}:${i + 1} is not "cls xc yc w h" or a polygon: '${line.trim()}'`, {
        path: file,
        line: i + 1,
      });
    if (v.some((n) => !Number.isFinite(n)) || !Number.isInteger(v[0]) || v[0]! < 0) throw bad();
    let box: [number, number, number, number];
    if (v.length === 5) {
      const [, xc, yc, w, h] = v as [number, number, number, number, number];
      box = [(xc - w / 2) * width, (yc - h / 2) * height, (xc + w / 2) * width, (yc + h / 2) * height];
    } else if (v.length >= 7 && (v.length - 1) % 2 === 0) {
      const xs = v.slice(1).filter((_, k) => k % 2 === 0);
      const ys = v.slice(1).filter((_, k) => k % 2 === 1);
      box = [
        Math.min(...xs) * width,
        Math.min(...ys) * height,
        Math.max(...xs) * width,
        Math.max(...ys) * height,
      ];
    } else {
      throw bad();
    }
    targets.push({ cls: v[0]!, box });
  });
  return targets;
}
