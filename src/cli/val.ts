import type { Command } from 'commander';
import type { CliContext } from './command.js';
import { parseBatch, parseNumber } from './predict.js';

/** Parsed `val` options. */
export interface ValCliOptions {
  model: string[];
  data: string;
  conf?: number;
  iou?: number;
  maxDet?: number;
  batch?: number;
  split?: string;
  backend: string;
  json?: string;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('val')
    .description(
      'Measure accuracy on a YOLO-format labelled dataset: precision, recall, mAP50, mAP50-95 (overall and per class).',
    )
    .requiredOption(
      '-m, --model <path>',
      'model (.onnx or .engine); repeat to compare several (e.g. fp32/fp16/int8 engines) in one table',
      collect,
    )
    .requiredOption('--data <path>', 'data.yaml, or a dataset folder with images/ and labels/')
    .option('--conf <number>', 'confidence threshold (default 0.001, as Ultralytics validates)', parseNumber)
    .option('--iou <number>', 'NMS IoU threshold (default 0.7)', parseNumber)
    .option('--max-det <number>', 'maximum detections per image (default 300)', parseNumber)
    .option('--batch <n>', 'images per detection step (default 16)', parseBatch)
    .option('--split <name>', "data.yaml split to validate (default 'val')")
    .option('--backend <name>', 'auto | cpu | tensorrt', 'auto')
    .option(
      '--json <file>',
      'also write the metrics as JSON to FILE ("-" = stdout, the table goes to stderr)',
    )
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  $ yolo-trt val --model yolo11n.onnx --data datasets/coco8',
        '  $ yolo-trt val --model fp32.engine --model fp16.engine --model int8.engine --data coco.yaml',
        '',
        'Exit code: 0 done, 1 a model or the dataset failed, 2 bad usage.',
      ].join('\n'),
    )
    .action(async (options: ValCliOptions) => {
      const { runVal } = await import('./run-val.js');
      ctx.fail(await runVal(options, ctx));
    });
}
