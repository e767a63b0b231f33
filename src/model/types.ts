/** What we know about a YOLO model after reading its ONNX file (metadata first, shapes as fallback). */
export type YoloTask = 'detect' | 'segment' | 'pose' | 'obb' | 'classify';

export interface ModelInfo {
  /** Absolute path of the model file. */
  path: string;
  /** Class names, index = class id. Length = number of classes. */
  names: string[];
  /** Network input size: height, width (Ultralytics' imgsz order). */
  imgsz: [number, number];
  /** Largest stride (32 for YOLOv8/11). */
  stride: number;
  task: YoloTask;
  /** Fixed batch size of the input, or null when the batch dimension is dynamic. */
  batch: number | null;
  inputName: string;
  outputName: string;
  /** Element type of the input tensor. */
  inputType: 'float32' | 'float16';
  /** Output layout [batch, 4 + nc, anchors]. */
  numClasses: number;
  numAnchors: number;
  /** Raw Ultralytics metadata_props, as strings. */
  metadata: Record<string, string>;
  /** Where each field came from, for `doctor` and error messages. */
  source: { names: 'metadata' | 'shape'; imgsz: 'metadata' | 'shape' };
}
