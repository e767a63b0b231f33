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

export interface DetectResult {
  detections: Detection[];
  /** Original image size. */
  width: number;
  height: number;
  speed: Speed;
}
