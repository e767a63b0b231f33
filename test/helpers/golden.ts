import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Shared assets live outside the repo: YOLO_TRT_ASSETS, default ../shared/assets from the repo root. */
export const ASSETS_DIR = path.resolve(process.env.YOLO_TRT_ASSETS ?? '../shared/assets');

export interface GoldenDetection {
  cls: number;
  name: string;
  conf: number;
  box: [number, number, number, number];
}

export interface GoldenCase {
  /** Key in golden/yolo11n.json (file name without extension). */
  key: string;
  imagePath: string;
  detections: GoldenDetection[];
}

function findImage(key: string): string {
  const candidates = [
    path.join(ASSETS_DIR, 'images', `${key}.jpg`),
    path.join(ASSETS_DIR, 'datasets/coco8/images/train', `${key}.jpg`),
    path.join(ASSETS_DIR, 'datasets/coco8/images/val', `${key}.jpg`),
  ];
  const found = candidates.find((c) => existsSync(c));
  if (found === undefined) throw new Error(`golden image ${key} not found under ${ASSETS_DIR}`);
  return found;
}

/**
 * The reference detections of yolo11n.onnx (conf 0.25, iou 0.7), or of another golden file such as
 * golden/yolo11n-e2e.json, with the image each belongs to.
 */
export function goldenCases(file = 'golden/yolo11n.json'): GoldenCase[] {
  const golden = JSON.parse(readFileSync(path.join(ASSETS_DIR, file), 'utf8')) as Record<
    string,
    GoldenDetection[]
  >;
  return Object.entries(golden).map(([key, detections]) => ({ key, imagePath: findImage(key), detections }));
}

export const YOLO11N = path.join(ASSETS_DIR, 'models/yolo11n.onnx');
/** yolo11n with an end-to-end head ([batch, 300, 6]) and its golden file. */
export const YOLO11N_E2E = path.join(ASSETS_DIR, 'models/yolo11n-e2e.onnx');
export const GOLDEN_E2E = 'golden/yolo11n-e2e.json';

/**
 * Golden values are rounded to 2 decimals (boxes) and 4 decimals (conf), so "within 0.01 px / 1e-4"
 * means within half a rounding step plus float noise.
 */
export const BOX_TOLERANCE = 0.01;
export const CONF_TOLERANCE = 1e-4;

interface DetectionLike {
  cls: number;
  name: string;
  conf: number;
  box: readonly number[];
}

/** Returns a list of human-readable differences; empty when the detections match the golden ones. */
export function compareDetections(
  actual: readonly DetectionLike[],
  expected: readonly GoldenDetection[],
): string[] {
  const diffs: string[] = [];
  if (actual.length !== expected.length) {
    diffs.push(`count ${actual.length} != ${expected.length}`);
    return diffs;
  }
  expected.forEach((e, i) => {
    const a = actual[i]!;
    if (a.cls !== e.cls || a.name !== e.name)
      diffs.push(`#${i} class ${a.cls}/${a.name} != ${e.cls}/${e.name}`);
    if (Math.abs(a.conf - e.conf) > CONF_TOLERANCE) diffs.push(`#${i} conf ${a.conf} != ${e.conf}`);
    e.box.forEach((v, k) => {
      if (Math.abs(a.box[k]! - v) > BOX_TOLERANCE) diffs.push(`#${i} box[${k}] ${a.box[k]} != ${v}`);
    });
  });
  return diffs;
}
