import { InvalidArgumentError, type Command } from 'commander';
import type { CliContext } from './command.js';

/** Parsed `predict` options. Numbers are only parsed here; their ranges are the library's to check. */
export interface PredictOptions {
  model: string;
  conf?: number;
  iou?: number;
  maxDet?: number;
  classes?: number[];
  agnostic?: boolean;
  backend: string;
  imgsz?: number | [number, number];
  batch?: number;
  jsonl?: string;
  /** A folder, or true: the next free runs/detect/predict{,2,...} (or --project/--name). */
  save?: string | boolean;
  saveTxt?: boolean;
  saveConf?: boolean;
  saveCrop?: boolean;
  project?: string;
  name?: string;
  existOk?: boolean;
  lineWidth?: number;
  hideLabels?: boolean;
  hideConf?: boolean;
  device?: string;
  half?: boolean;
  vidStride?: number;
}

/** `--vid-stride`, `--line-width`: positive integers. */
export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) {
    throw new InvalidArgumentError(`Expected an integer between 1 and 10000 but received '${value}'.`);
  }
  return n;
}

/** `--device 0` (a CUDA device index, TensorRT) or `--device cpu`. */
export function parseDevice(value: string): string {
  if (value.toLowerCase() === 'cpu' || /^(cuda:)?\d+$/i.test(value)) return value.toLowerCase();
  throw new InvalidArgumentError(`Expected a GPU index such as 0 or 'cpu' but received '${value}'.`);
}

/** Strings that are numbers to JavaScript ("0.5", "1e-3", ".25"); anything else is a usage error. */
export function parseNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || Number.isNaN(n)) {
    throw new InvalidArgumentError(`Expected a number but received '${value}'.`);
  }
  return n;
}

/** `--classes 0,2` (repeatable: `--classes 0 --classes 2`). Ids are range-checked against the model later. */
export function parseClassList(value: string, previous: number[] | undefined): number[] {
  const ids = value.split(',').map((part) => {
    const n = Number(part);
    if (part.trim() === '' || !Number.isInteger(n)) {
      throw new InvalidArgumentError(
        `Expected comma-separated class ids such as 0,2 but received '${value}'.`,
      );
    }
    return n;
  });
  return [...(previous ?? []), ...ids];
}

/**
 * `--imgsz 640` or `--imgsz 480,640` (height,width, as Ultralytics' imgsz=[h, w]). Whether the model can
 * take that size is the library's to check.
 */
export function parseImgszFlag(value: string): number | [number, number] {
  const parts = value.split(',').map((p) => p.trim());
  const nums = parts.map(Number);
  if (parts.length > 2 || parts.some((p) => p === '') || nums.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new InvalidArgumentError(
      `Expected a size such as 640 or height,width such as 480,640 but received '${value}'.`,
    );
  }
  return nums.length === 1 ? nums[0]! : [nums[0]!, nums[1]!];
}

/** `--batch` is the CLI's own knob (not a library option), so the CLI checks it. */
export function parseBatch(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1024) {
    throw new InvalidArgumentError(`Expected an integer between 1 and 1024 but received '${value}'.`);
  }
  return n;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('predict')
    .description('Detect objects in images; print a summary, write JSON lines, or save annotated copies.')
    .argument(
      '<sources...>',
      'image files, directories (walked recursively), globs, http(s) image URLs, video files, stream URLs (rtsp://, rtmp://, http video, HLS), webcams (0, /dev/video0)',
    )
    .requiredOption('-m, --model <path>', 'YOLO detect model (.onnx export)')
    .option('--conf <number>', 'confidence threshold (default 0.25)', parseNumber)
    .option('--iou <number>', 'NMS IoU threshold (default 0.7)', parseNumber)
    .option('--max-det <number>', 'maximum detections per image (default 300)', parseNumber)
    .option('--classes <ids>', 'keep only these class ids, comma-separated, e.g. 0,2', parseClassList)
    .option('--agnostic', 'class-agnostic NMS')
    .option('--backend <name>', 'auto | cpu | tensorrt', 'auto')
    .option(
      '--imgsz <size>',
      'network input size for models exported with dynamic H/W: 640, or height,width such as 480,640 (default: the model metadata)',
      parseImgszFlag,
    )
    .option(
      '--batch <n>',
      'images decoded and detected per step (default: 2 runs per worker, at least 4)',
      parseBatch,
    )
    .option(
      '--jsonl <file>',
      'write one JSON line per image to FILE ("-" = stdout, and nothing else goes there)',
    )
    .option(
      '--save [dir]',
      'write annotated copies (videos as .mp4) into DIR, or without DIR into runs/detect/predict, predict2, ...',
    )
    .option('--project <dir>', 'parent of the run folder when --save has no DIR (default runs/detect)')
    .option('--name <name>', 'run folder name (default predict)')
    .option('--exist-ok', 'reuse project/name instead of incrementing it')
    .option('--save-txt', 'write YOLO label files (cls xc yc w h, normalised) to <run>/labels/')
    .option('--save-conf', 'with --save-txt: append the score to each line')
    .option('--save-crop', 'write one JPEG per box to <run>/crops/<class>/')
    .option('--line-width <px>', 'box line width (default from the image size)', parsePositiveInt)
    .option('--hide-labels', 'draw boxes without labels')
    .option('--hide-conf', 'labels without scores')
    .option('--device <id>', "GPU index (TensorRT on that device) or 'cpu'", parseDevice)
    .option('--half', 'TensorRT FP16 engine (the TensorRT default already; fp32 needs the library option)')
    .option('--vid-stride <n>', 'use every n-th video frame (default 1)', parsePositiveInt)
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  $ yolo-trt predict bus.jpg --model yolo11n.onnx',
        '  $ yolo-trt predict photos/ --model yolo11n.onnx --classes 0 --jsonl - | jq .detections',
        '  $ yolo-trt predict photos/ --model yolo11n.onnx --save out/',
        "  $ yolo-trt predict 'photos/*.jpg' https://ultralytics.com/images/bus.jpg --model yolo11n.onnx --save",
        '  $ yolo-trt predict clip.mp4 --model yolo11n.onnx --vid-stride 2 --jsonl - --save',
        '  $ yolo-trt predict model=yolo11n.onnx source=bus.jpg conf=0.5 save=True   (Ultralytics form)',
        '',
        'Exit code: 0 all images done, 1 some image or file failed (others still get results), 2 bad usage.',
      ].join('\n'),
    )
    .action(async (sources: string[], options: PredictOptions) => {
      // Loaded only when predicting: onnxruntime and sharp are not needed for --help.
      const { runPredict } = await import('./run-predict.js');
      ctx.fail(await runPredict(sources, options, ctx));
    });
}
