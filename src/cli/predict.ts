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
  save?: string;
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
    .argument('<sources...>', 'image files and/or directories (walked recursively for image files)')
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
    .option('--save <dir>', 'write annotated copies (boxes and labels) into DIR')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  $ yolo-trt predict bus.jpg --model yolo11n.onnx',
        '  $ yolo-trt predict photos/ --model yolo11n.onnx --classes 0 --jsonl - | jq .detections',
        '  $ yolo-trt predict photos/ --model yolo11n.onnx --save out/',
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
