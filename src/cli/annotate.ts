import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import sharp from 'sharp';
import type { NativeImage } from '../native/binding.js';
import type { Detection } from '../results.js';

/** Distinct, stable colour per class: hues spaced by the golden angle, fixed saturation and lightness. */
export function classColor(cls: number): { fill: string; text: string } {
  const h = (cls * 137.508) % 360;
  const s = 0.75;
  const l = 0.5;
  const k = (n: number): number => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const channel = (n: number): number =>
    Math.round(255 * (l - a * Math.max(-1, Math.min(k(n) - 3, 9 - k(n), 1))));
  const [r, g, b] = [channel(0), channel(8), channel(4)];
  const hex = `#${[r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
  // Relative luminance decides black or white text on the label background.
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return { fill: hex, text: luminance > 150 ? '#000000' : '#ffffff' };
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Two-decimal label like "person 0.90". */
export function labelText(d: Detection): string {
  return `${d.name} ${d.conf.toFixed(2)}`;
}

/**
 * An SVG the size of the image with one rectangle per detection and, when `labels` is set, a filled
 * label box with "name 0.90" above it (inside the box when there is no room above). Line width and font
 * size scale with the image so labels stay readable on 4K frames and small thumbnails alike.
 */
export function overlaySvg(
  width: number,
  height: number,
  detections: readonly Detection[],
  labels: boolean,
): string {
  const lw = Math.max(2, Math.round(((width + height) / 2) * 0.003));
  const fontSize = Math.max(10, Math.round(lw * 5));
  const pad = Math.max(2, Math.round(fontSize * 0.2));
  const labelH = fontSize + 2 * pad;
  const parts: string[] = [];
  // SVG paints in document order: draw the least confident first so the best box and label end up on
  // top where they overlap (Ultralytics' Results.plot walks the boxes in reverse for the same reason).
  for (const d of [...detections].reverse()) {
    const [x1, y1, x2, y2] = d.box;
    const { fill, text } = classColor(d.cls);
    const x = Math.min(x1, x2);
    const y = Math.min(y1, y2);
    parts.push(
      `<rect x="${x}" y="${y}" width="${Math.abs(x2 - x1)}" height="${Math.abs(y2 - y1)}" ` +
        `fill="none" stroke="${fill}" stroke-width="${lw}"/>`,
    );
    if (!labels) continue;
    const label = labelText(d);
    // SVG cannot measure text before rendering; 0.6 em per character fits DejaVu Sans, the usual fallback.
    const labelW = Math.ceil(label.length * fontSize * 0.6) + 2 * pad;
    const lx = Math.max(0, Math.min(x - lw / 2, width - labelW));
    const ly = y - lw / 2 - labelH >= 0 ? y - lw / 2 - labelH : y + lw / 2;
    parts.push(
      `<rect x="${lx}" y="${ly}" width="${labelW}" height="${labelH}" fill="${fill}"/>`,
      `<text x="${lx + pad}" y="${ly + pad + fontSize * 0.8}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif" ` +
        `font-size="${fontSize}" fill="${text}">${escapeXml(label)}</text>`,
    );
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`
  );
}

/** Packs decoded pixels into tight RGB rows (sharp's raw input), whatever the stride and channel order. */
export function toPackedRgb(image: NativeImage): Buffer {
  const { data, width, height, stride, format } = image;
  const channels = format === 'gray' ? 1 : format === 'rgb' || format === 'bgr' ? 3 : 4;
  const swap = format === 'bgr' || format === 'bgra';
  if (format === 'rgb' && stride === width * 3)
    return Buffer.from(data.buffer, data.byteOffset, width * height * 3);
  const out = Buffer.allocUnsafe(width * height * 3);
  for (let y = 0; y < height; y++) {
    let s = y * stride;
    let o = y * width * 3;
    for (let x = 0; x < width; x++, s += channels, o += 3) {
      if (channels === 1) {
        const v = data[s] ?? 0;
        out[o] = v;
        out[o + 1] = v;
        out[o + 2] = v;
      } else {
        out[o] = data[swap ? s + 2 : s] ?? 0;
        out[o + 1] = data[s + 1] ?? 0;
        out[o + 2] = data[swap ? s : s + 2] ?? 0;
      }
    }
  }
  return out;
}

type OutputFormat = 'jpeg' | 'png' | 'webp' | 'tiff' | 'gif' | 'avif';

const FORMAT_BY_EXTENSION: Readonly<Record<string, OutputFormat>> = {
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.png': 'png',
  '.webp': 'webp',
  '.tif': 'tiff',
  '.tiff': 'tiff',
  '.gif': 'gif',
  '.avif': 'avif',
};

/**
 * The path an annotated copy is written to: same name; a name whose extension we cannot encode gets
 * ".png" appended rather than bytes that do not match its extension.
 */
export function annotatedOutputPath(path: string): { path: string; format: OutputFormat } {
  const format = FORMAT_BY_EXTENSION[extname(path).toLowerCase()];
  return format ? { path, format } : { path: `${path}.png`, format: 'png' };
}

async function render(
  rgb: Buffer,
  width: number,
  height: number,
  svg: string,
  format: OutputFormat,
): Promise<Buffer> {
  const img = sharp(rgb, { raw: { width, height, channels: 3 } }).composite([
    { input: Buffer.from(svg), left: 0, top: 0 },
  ]);
  switch (format) {
    case 'jpeg':
      return img.jpeg({ quality: 90 }).toBuffer();
    default:
      return img.toFormat(format).toBuffer();
  }
}

/**
 * Writes `image` (the decoded, EXIF-oriented pixels the boxes refer to) with the detections drawn.
 * The copy carries no EXIF orientation, so viewers show it the way the boxes were computed. If text
 * cannot be rendered here (no fonts, librsvg without text support), the boxes are still drawn.
 * Resolves to the path written.
 */
export async function saveAnnotated(
  image: NativeImage,
  detections: readonly Detection[],
  outPath: string,
): Promise<string> {
  const { path, format } = annotatedOutputPath(outPath);
  const rgb = toPackedRgb(image);
  let bytes: Buffer;
  try {
    bytes = await render(
      rgb,
      image.width,
      image.height,
      overlaySvg(image.width, image.height, detections, true),
      format,
    );
  } catch {
    bytes = await render(
      rgb,
      image.width,
      image.height,
      overlaySvg(image.width, image.height, detections, false),
      format,
    );
  }
  await writeFile(path, bytes);
  return path;
}
