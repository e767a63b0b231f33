import { writeFile } from 'node:fs/promises';
import type { NativeImage } from '../native/binding.js';
import type { Detection } from '../results.js';
import { overlaySvg as plotOverlay, plotImage, type PlotOptions } from '../results/plot.js';
import { imageOutputPath } from '../results/results.js';

export { toPackedRgb } from '../results/plot.js';
export { classColor } from '../results/palette.js';

/** The CLI overlay: `labels` false draws boxes only. */
export function overlaySvg(
  width: number,
  height: number,
  detections: readonly Detection[],
  labels: boolean,
): string {
  return plotOverlay(width, height, detections, { labels });
}

/** Where an annotated copy goes, and its encoder (unknown extensions get ".png" appended). */
export const annotatedOutputPath = imageOutputPath;

/**
 * Writes `image` (the decoded, EXIF-oriented pixels the boxes refer to) with the detections drawn the
 * way Results.plot() draws them. The copy carries no EXIF orientation, so viewers show it the way the
 * boxes were computed. Resolves to the path written.
 */
export async function saveAnnotated(
  image: NativeImage,
  detections: readonly Detection[],
  outPath: string,
  options: PlotOptions = {},
): Promise<string> {
  const { path, format } = imageOutputPath(outPath);
  await writeFile(path, await plotImage(image, detections, options, format));
  return path;
}
