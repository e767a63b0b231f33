import sharp from 'sharp';
import type { NativeImage } from '../native/binding.js';
import type { Detection } from '../results.js';
import { classColor } from './palette.js';

export interface PlotOptions {
  /** Box line width in pixels; default from the image size (see `defaultLineWidth`). */
  lineWidth?: number;
  /** Draw class-name labels (default true). Ultralytics `labels` / CLI `--hide-labels`. */
  labels?: boolean;
  /** Append the score to labels (default true). Ultralytics `conf` / CLI `--hide-conf`. */
  conf?: boolean;
}

/** Python's round(): half to even, which Ultralytics' size rule uses. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Ultralytics' rule: 0.3% of the mean of the image array's dimensions (height + width + 3 channels, over
 * 2), rounded half to even, at least 2 px. 810x1080 -> 3, 1280x720 -> 3, 640x480 -> 2, 3840x2160 -> 9.
 */
export function defaultLineWidth(width: number, height: number): number {
  return Math.max(roundHalfEven(((height + width + 3) / 2) * 0.003), 2);
}

/**
 * Label box height for a line width: Ultralytics draws labels with OpenCV's Hershey font at scale lw/3
 * and thickness max(lw-1, 1), whose text is about 7.5*lw px tall (measured with cv2.getTextSize: 15, 22,
 * 30, 45, 75 px at lw 2, 3, 4, 6, 10), plus 3 px. We render DejaVu Sans with its capitals that tall.
 */
export function labelMetrics(lineWidth: number): { textHeight: number; boxHeight: number; fontSize: number } {
  const textHeight = Math.round(7.5 * lineWidth);
  // DejaVu Sans capitals are 0.729 em tall.
  return { textHeight, boxHeight: textHeight + 3, fontSize: textHeight / 0.729 };
}

/** "person 0.90", "person", or with a track id "id:3 person 0.90" (Ultralytics' label forms). */
export function labelText(d: Detection, withConf = true): string {
  const base = withConf ? `${d.name} ${d.conf.toFixed(2)}` : d.name;
  return d.id === undefined ? base : `id:${d.id} ${base}`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * An SVG overlay the size of the image: per detection a box in its class colour and, unless disabled, a
 * filled label above the box's top-left corner (below it when there is no room above, shifted left to
 * stay inside the image), as Ultralytics places them. Drawn lowest score first, so where labels overlap
 * the most confident one is on top and readable.
 */
export function overlaySvg(
  width: number,
  height: number,
  detections: readonly Detection[],
  options: PlotOptions = {},
  withText = true,
): string {
  const lw = options.lineWidth ?? defaultLineWidth(width, height);
  const { textHeight, boxHeight, fontSize } = labelMetrics(lw);
  const showLabels = options.labels ?? true;
  const order = [...detections].sort((a, b) => a.conf - b.conf);
  const parts: string[] = [];
  for (const d of order) {
    const { fill, text } = classColor(d.cls);
    const x1 = Math.trunc(Math.min(d.box[0], d.box[2]));
    const y1 = Math.trunc(Math.min(d.box[1], d.box[3]));
    const x2 = Math.trunc(Math.max(d.box[0], d.box[2]));
    const y2 = Math.trunc(Math.max(d.box[1], d.box[3]));
    parts.push(
      `<rect x="${x1}" y="${y1}" width="${x2 - x1}" height="${y2 - y1}" fill="none" stroke="${fill}" stroke-width="${lw}"/>`,
    );
    if (!showLabels) continue;
    const label = labelText(d, options.conf ?? true);
    // SVG cannot measure text before rendering; 0.6 em per character fits DejaVu Sans.
    const labelW = Math.ceil(label.length * fontSize * 0.6) + 2;
    const outside = y1 >= boxHeight;
    const lx = x1 > width - labelW ? width - labelW : x1;
    const ly = outside ? y1 - boxHeight : y1;
    parts.push(`<rect x="${lx}" y="${ly}" width="${labelW}" height="${boxHeight}" fill="${fill}"/>`);
    if (withText) {
      const baseline = outside ? y1 - 2 : y1 + boxHeight - 1;
      parts.push(
        `<text x="${lx + 1}" y="${baseline - Math.max(0, boxHeight - 3 - textHeight)}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif" ` +
          `font-size="${fontSize.toFixed(2)}" fill="${text}">${escapeXml(label)}</text>`,
      );
    }
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

export type OutputFormat = 'jpeg' | 'png' | 'webp' | 'tiff' | 'gif' | 'avif' | 'raw';

/**
 * The annotated image, encoded as `format` ('raw' = packed RGB pixels, width*height*3 bytes). Where text
 * cannot be rendered (no usable font, librsvg without text), the boxes and label backgrounds are still
 * drawn.
 */
export async function plotImage(
  image: NativeImage,
  detections: readonly Detection[],
  options: PlotOptions = {},
  format: OutputFormat = 'png',
): Promise<Buffer> {
  const rgb = toPackedRgb(image);
  const { width, height } = image;
  const render = async (withText: boolean): Promise<Buffer> => {
    const svg = overlaySvg(width, height, detections, options, withText);
    const img = sharp(rgb, { raw: { width, height, channels: 3 } }).composite([
      { input: Buffer.from(svg), left: 0, top: 0 },
    ]);
    if (format === 'raw') return img.removeAlpha().raw().toBuffer();
    if (format === 'jpeg') return img.jpeg({ quality: 90 }).toBuffer();
    return img.toFormat(format).toBuffer();
  };
  try {
    return await render(true);
  } catch {
    return render(false);
  }
}
