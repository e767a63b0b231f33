import { access, appendFile, mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import sharp from 'sharp';
import type { NativeImage } from '../native/binding.js';
import type { Detection } from '../results.js';
import { Boxes } from './boxes.js';
import { formatG } from './format-g.js';
import { toPackedRgb } from './plot.js';

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** `dir/name.ext`, or the first free `dir/name2.ext`, `name3`... (Ultralytics' increment rule for crops). */
export async function freeFileName(path: string): Promise<string> {
  if (!(await exists(path))) return path;
  const ext = extname(path);
  const stem = path.slice(0, path.length - ext.length);
  for (let n = 2; ; n++) {
    const candidate = `${stem}${n}${ext}`;
    if (!(await exists(candidate))) return candidate;
  }
}

/**
 * YOLO label lines "cls xc yc w h [conf] [id]" (normalised, %g), one per detection; nothing when there
 * are none, as Ultralytics' save_txt (no empty files).
 */
export function labelLines(
  detections: readonly Detection[],
  width: number,
  height: number,
  saveConf: boolean,
): string[] {
  const xywhn = new Boxes(detections, width, height).xywhn;
  return detections.map((d, i) => {
    const values = [
      d.cls,
      ...xywhn[i]!,
      ...(saveConf ? [d.conf] : []),
      ...(d.id !== undefined ? [d.id] : []),
    ];
    return values.map((v) => formatG(v)).join(' ');
  });
}

/** Appends label lines to `file` (creating its folder); writes nothing when there are no detections. */
export async function appendLabels(
  file: string,
  detections: readonly Detection[],
  width: number,
  height: number,
  saveConf: boolean,
): Promise<void> {
  const lines = labelLines(detections, width, height, saveConf);
  if (lines.length === 0) return;
  await mkdir(dirname(file), { recursive: true });
  await appendFile(file, lines.map((l) => `${l}\n`).join(''));
}

/**
 * The crop rectangle Ultralytics saves for a box: the box grown to 1.02x its size plus 10 px (about its
 * centre), truncated to integers, clipped to the image. Null when nothing is left.
 */
export function cropRect(
  box: readonly [number, number, number, number],
  width: number,
  height: number,
): { left: number; top: number; width: number; height: number } | null {
  const [x1, y1, x2, y2] = box;
  const cx = (x1 + x2) / 2;
  const cy = (y1 + y2) / 2;
  const w = (x2 - x1) * 1.02 + 10;
  const h = (y2 - y1) * 1.02 + 10;
  const clip = (v: number, max: number) => Math.min(Math.max(Math.trunc(v), 0), max);
  const left = clip(cx - w / 2, width);
  const top = clip(cy - h / 2, height);
  const right = clip(cx + w / 2, width);
  const bottom = clip(cy + h / 2, height);
  if (right <= left || bottom <= top) return null;
  return { left, top, width: right - left, height: bottom - top };
}

/**
 * One JPEG per detection under `dir/<class name>/<stem>.jpg` (then `<stem>2.jpg`, ...), as Ultralytics'
 * save_crop lays them out. Resolves to the files written.
 */
export async function saveCrops(
  image: NativeImage,
  detections: readonly Detection[],
  dir: string,
  stem: string,
): Promise<string[]> {
  const written: string[] = [];
  if (detections.length === 0) return written;
  const rgb = toPackedRgb(image);
  for (const d of detections) {
    const rect = cropRect(d.box, image.width, image.height);
    if (rect === null) continue;
    const classDir = join(dir, d.name);
    await mkdir(classDir, { recursive: true });
    const file = await freeFileName(join(classDir, `${basename(stem)}.jpg`));
    const bytes = await sharp(rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
      .extract(rect)
      .jpeg({ quality: 95, chromaSubsampling: '4:4:4' })
      .toBuffer();
    await writeFile(file, bytes);
    written.push(file);
  }
  return written;
}
