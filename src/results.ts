/** Result types, shaped like Ultralytics' Results so users moving from Python recognise them. */

export interface Detection {
  /** [x1, y1, x2, y2] in original-image pixels. */
  box: [number, number, number, number];
  /** Class score (already sigmoid-ed by the model), 0..1. */
  conf: number;
  /** Class id. */
  cls: number;
  /** Class name from the model metadata ('class<id>' when the model has none, as Ultralytics names them). */
  name: string;
  /** Track id, present only on results of `track()` (Ultralytics `boxes.id`). */
  id?: number;
}

/** Milliseconds per stage, Ultralytics' names. `preprocess` is letterbox + tensor (decode excluded). */
export interface Speed {
  preprocess: number;
  inference: number;
  postprocess: number;
}

/**
 * Content statistics of one image, measured natively in the letterbox pass over the resized image (never
 * the padding), with `imageStats: true`. Channel values are 0..255.
 */
export interface ImageStats {
  meanR: number;
  meanG: number;
  meanB: number;
  stdR: number;
  stdG: number;
  stdB: number;
  /** BT.601 luminance (OpenCV's RGB2GRAY byte): mean and standard deviation. */
  lumaMean: number;
  lumaStd: number;
  /** p95 - p5 of the luminance. */
  contrast: number;
  /** Variance of the 3x3 Laplacian of the luminance (interior pixels). */
  sharpness: number;
  /** Hasler and Suesstrunk's colourfulness metric. */
  colorfulness: number;
}

export interface DetectResult {
  detections: Detection[];
  /** Original image size. */
  width: number;
  height: number;
  speed: Speed;
  /** With the `imageStats` option, for image inputs (CPU and TensorRT backends measure the same values). */
  imageStats?: ImageStats;
}
