/**
 * Drift features of one served image. Input features describe the pixels (measured natively in the
 * letterbox pass: see DetectResult.imageStats) and the original size; output features describe what the
 * model found. A request that sends an already letterboxed tensor has no original pixels to describe:
 * it contributes output features only.
 */
import { IMAGE_STATS_FIELDS } from '../native/binding.js';
import type { DetectResult, ImageStats } from '../results.js';

/** Continuous features from the pixels: the native statistics, in their order (ImageStats' keys). */
export const PIXEL_FEATURES = IMAGE_STATS_FIELDS satisfies readonly (keyof ImageStats)[];

export const SIZE_FEATURES = ['width', 'height', 'aspect'] as const;

/** From the detections: the count per image, and per detection (PER_DETECTION_FEATURES) the rest. */
export const OUTPUT_FEATURES = [
  'detections',
  'confidence',
  'boxArea',
  'boxAspect',
  'boxCenterX',
  'boxCenterY',
] as const;

/** Output features with one value per detection rather than per image. */
export const PER_DETECTION_FEATURES: ReadonlySet<string> = new Set([
  'confidence',
  'boxArea',
  'boxAspect',
  'boxCenterX',
  'boxCenterY',
]);

export type PixelFeature = (typeof PIXEL_FEATURES)[number];
export type ContinuousFeature =
  PixelFeature | (typeof SIZE_FEATURES)[number] | (typeof OUTPUT_FEATURES)[number];

export const CONTINUOUS_FEATURES: readonly ContinuousFeature[] = [
  ...PIXEL_FEATURES,
  ...SIZE_FEATURES,
  ...OUTPUT_FEATURES,
];

/** The categorical feature: the mix of detected classes (compared with Jensen-Shannon). */
export const CLASS_FEATURE = 'classes';

/** The features of one image: each continuous feature's values (absent = not measured) and class ids. */
export interface ImageFeatures {
  values: Partial<Record<ContinuousFeature, number[]>>;
  classes: number[];
}

export interface FeatureSource {
  /**
   * The request sent a letterboxed tensor: width/height are the network's, not an original image's,
   * so no input feature is recorded. Default false.
   */
  tensorInput?: boolean;
}

/** The drift features of one detection result. */
export function extractFeatures(result: DetectResult, source: FeatureSource = {}): ImageFeatures {
  const values: Partial<Record<ContinuousFeature, number[]>> = {};
  if (source.tensorInput !== true) {
    if (result.imageStats !== undefined) {
      for (const f of PIXEL_FEATURES) values[f] = [result.imageStats[f]];
    }
    values.width = [result.width];
    values.height = [result.height];
    values.aspect = [result.width / result.height];
  }
  const area = result.width * result.height;
  const conf: number[] = [];
  const boxArea: number[] = [];
  // Box width / height: objects keep their shape across scenes, so a change means the camera turned
  // (a rotation) or the objects changed.
  const boxAspect: number[] = [];
  const cx: number[] = [];
  const cy: number[] = [];
  const classes: number[] = [];
  for (const d of result.detections) {
    const [x1, y1, x2, y2] = d.box;
    conf.push(d.conf);
    boxArea.push(((x2 - x1) * (y2 - y1)) / area);
    if (y2 > y1) boxAspect.push((x2 - x1) / (y2 - y1));
    cx.push((x1 + x2) / 2 / result.width);
    cy.push((y1 + y2) / 2 / result.height);
    classes.push(d.cls);
  }
  values.detections = [result.detections.length];
  values.confidence = conf;
  values.boxArea = boxArea;
  values.boxAspect = boxAspect;
  values.boxCenterX = cx;
  values.boxCenterY = cy;
  return { values, classes };
}
