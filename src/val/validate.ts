import { YoloTrtError } from '../errors.js';
import type { Detector } from '../detector.js';
import type { Speed } from '../results.js';
import { loadDataset } from './dataset.js';
import { readLabels } from './dataset.js';
import { computeMetrics, imageStats, type DetectionMetrics, type ImageStats } from './metrics.js';

/** Ultralytics' validation defaults (`yolo val`): keep almost every box, so the whole P-R curve counts. */
export const VAL_DEFAULTS = { conf: 0.001, iou: 0.7, maxDet: 300 } as const;

export interface ValOptions {
  conf?: number;
  iou?: number;
  maxDet?: number;
  /** Dataset split key in data.yaml (default 'val'). */
  split?: string;
  /** Images per detectBatch call (default 16). */
  batch?: number;
  signal?: AbortSignal;
  /** Called after each batch with (images done, total). */
  onProgress?: (done: number, total: number) => void;
}

export interface ValClassRow {
  cls: number;
  name: string;
  images: number;
  instances: number;
  precision: number;
  recall: number;
  map50: number;
  map50_95: number;
}

export interface ValResult {
  data: string;
  images: number;
  instances: number;
  settings: { conf: number; iou: number; maxDet: number; imgsz: [number, number] };
  precision: number;
  recall: number;
  map50: number;
  map50_95: number;
  /** Per class present in the labels. */
  classes: ValClassRow[];
  /** Mean milliseconds per image. */
  speed: Speed;
  /** Images that could not be read or detected (skipped, as Ultralytics skips corrupt images). */
  problems: { image: string; code: string; message: string }[];
}

/**
 * Runs `detector` over a YOLO-format labelled dataset with Ultralytics' validation settings and
 * returns its metrics (see metrics.ts for the definitions reproduced).
 */
export async function validate(
  detector: Detector,
  data: string,
  options: ValOptions = {},
): Promise<ValResult> {
  const dataset = await loadDataset(data, options.split ?? 'val');
  const conf = options.conf ?? VAL_DEFAULTS.conf;
  const iou = options.iou ?? VAL_DEFAULTS.iou;
  const maxDet = options.maxDet ?? VAL_DEFAULTS.maxDet;
  const batch = options.batch ?? 16;
  const stats: ImageStats[] = [];
  const problems: ValResult['problems'] = [];
  const speed = { preprocess: 0, inference: 0, postprocess: 0 };
  let done = 0;
  for (let start = 0; start < dataset.images.length; start += batch) {
    const paths = dataset.images.slice(start, start + batch);
    const settled = await detector.detectBatchSettled(paths, { conf, iou, maxDet, signal: options.signal });
    for (let k = 0; k < paths.length; k++) {
      const s = settled[k]!;
      if (!s.ok) {
        if (s.error.code === 'ABORT_ERR') throw s.error;
        problems.push({ image: paths[k]!, code: s.error.code, message: s.error.message });
        continue;
      }
      const r = s.result;
      const targets = await readLabels(paths[k]!, r.width, r.height);
      stats.push(imageStats(r.detections, targets));
      speed.preprocess += r.speed.preprocess;
      speed.inference += r.speed.inference;
      speed.postprocess += r.speed.postprocess;
    }
    done += paths.length;
    options.onProgress?.(done, dataset.images.length);
  }
  if (stats.length === 0) {
    throw new YoloTrtError('ERR_DATASET', `No image of dataset ${data} could be detected`, {
      details: { problems },
    });
  }
  const m: DetectionMetrics = computeMetrics(stats);
  const names = dataset.names ?? detector.model.names;
  const n = stats.length;
  return {
    data,
    images: n,
    instances: stats.reduce((a, s) => a + s.targetCls.length, 0),
    settings: { conf, iou, maxDet, imgsz: [detector.model.imgsz[0], detector.model.imgsz[1]] },
    precision: m.precision,
    recall: m.recall,
    map50: m.map50,
    map50_95: m.map50_95,
    classes: m.classes.map((c) => ({
      cls: c.cls,
      name: names[c.cls] ?? `class${c.cls}`,
      images: c.images,
      instances: c.instances,
      precision: c.precision,
      recall: c.recall,
      map50: c.map50,
      map50_95: c.map50_95,
    })),
    speed: {
      preprocess: speed.preprocess / n,
      inference: speed.inference / n,
      postprocess: speed.postprocess / n,
    },
    problems,
  };
}
