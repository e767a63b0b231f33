// Paths into the shared, read-only assets (never copied into the repo). Builds on golden.ts.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ASSETS_DIR, type GoldenDetection } from './golden.js';

/** Absolute path of the shared assets: YOLO_TRT_ASSETS, default ../shared/assets from the repo root. */
export const ASSETS = ASSETS_DIR;

/** A model under assets/models, e.g. modelPath('yolo11n.onnx'). */
export function modelPath(name = 'yolo11n.onnx'): string {
  return path.join(ASSETS, 'models', name);
}

/** An image under assets/images, e.g. imagePath('bus.jpg'). */
export function imagePath(name: string): string {
  return path.join(ASSETS, 'images', name);
}

/** golden/yolo11n.json: reference detections keyed by image file name without extension. */
export function goldenDetections(): Record<string, GoldenDetection[]> {
  return JSON.parse(readFileSync(path.join(ASSETS, 'golden/yolo11n.json'), 'utf8')) as Record<
    string,
    GoldenDetection[]
  >;
}
