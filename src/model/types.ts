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
  /** Number of classes (names.length). */
  numClasses: number;
  /** Anchors of a classic output [batch, 4 + nc, anchors] at imgsz (also set for end-to-end models). */
  numAnchors: number;
  /**
   * True for end-to-end outputs [batch, K, 6] (YOLO26/YOLOv10 end2end, YOLOv8/YOLO11 exported with
   * nms=True): rows (x1, y1, x2, y2, score, cls) already ranked by the model, no NMS. False for the
   * classic [batch, 4 + nc, anchors] output.
   */
  endToEnd: boolean;
  /** Rows per image (K) of an end-to-end output when the model fixes it; null when dynamic or classic. */
  outputRows: number | null;
  /** Detect options that have no effect on this model: ['iou', 'agnostic'] for end-to-end models. */
  ignoredOptions: readonly ('iou' | 'agnostic')[];
  /** The input height/width are dynamic: Detector.create({ imgsz }) may choose them. */
  dynamicHW: boolean;
  /** Raw Ultralytics metadata_props, as strings. */
  metadata: Record<string, string>;
  /** Where each field came from, for `doctor` and error messages. */
  source: {
    names: 'metadata' | 'shape' | 'default';
    imgsz: 'metadata' | 'shape' | 'option';
    /** How an end-to-end output was recognised (null for classic models). */
    endToEnd: 'metadata end2end' | 'metadata args nms' | 'shape' | null;
  };
}

/** The options of Detector.create that readModelInfo honours. */
export interface ReadModelOptions {
  /** Network input size [height, width] for models with dynamic height/width. */
  imgsz?: readonly [number, number] | undefined;
}
