import { InvalidArgumentError, type Command } from 'commander';
import type { CliContext } from './command.js';
import { parseImgszFlag } from './predict.js';

/** Parsed `build` options; ranges are the library's to check. */
export interface BuildOptions {
  model: string;
  imgsz?: number | [number, number];
  precision?: string;
  batch?: number;
  calib?: string;
  workspace?: number;
  device?: number;
  cacheDir?: string;
  rebuild?: boolean;
  output?: string;
}

function parseInteger(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n)) {
    throw new InvalidArgumentError(`Expected an integer but received '${value}'.`);
  }
  return n;
}

function parsePrecision(value: string): string {
  if (!['fp16', 'fp32', 'int8'].includes(value)) {
    throw new InvalidArgumentError(`Expected one of fp16, fp32, int8 but received '${value}'.`);
  }
  return value;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('build')
    .description(
      'Build (or find in the cache) the TensorRT engine for a model on this GPU, ahead of serving.',
    )
    .requiredOption('-m, --model <path>', 'YOLO detect model (.onnx export)')
    .option(
      '--imgsz <size>',
      'input size to build a dynamic-H/W export for: 640, or height,width such as 480,640 (default: the model metadata)',
      parseImgszFlag,
    )
    .option(
      '--precision <p>',
      "fp16 | fp32 | int8 (default fp16; TensorRT 11: the model's own type)",
      parsePrecision,
    )
    .option(
      '--batch <n>',
      'max batch of the optimization profile (dynamic-batch models; default 8)',
      parseInteger,
    )
    .option('--calib <dir>', 'INT8 calibration images (TensorRT < 10; newer TensorRT needs a Q/DQ model)')
    .option('--workspace <mb>', 'builder workspace limit in MiB (default: TensorRT decides)', parseInteger)
    .option('--device <n>', 'CUDA device index (default 0)', parseInteger)
    .option('--cache-dir <dir>', 'engine cache folder (default $YOLO_TRT_CACHE or ~/.cache/yolo-trt)')
    .option('--rebuild', 'ignore a cached engine and build again')
    .option(
      '-o, --output <file>',
      'also write the engine as an Ultralytics-style .engine (JSON header + plan)',
    )
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  $ yolo-trt build --model yolo11n.onnx                       # fp16, cached for `predict`/`serve`',
        '  $ yolo-trt build --model yolo11n-dyn.onnx --batch 16 --workspace 2048',
        '  $ yolo-trt build --model yolo11n.onnx --precision int8 --calib calib-images/',
        '',
        'Ctrl-C cancels a build (between build steps on TensorRT >= 10). Exit code: 0 built or found, 1 failed.',
      ].join('\n'),
    )
    .action(async (options: BuildOptions) => {
      const { runBuild } = await import('./run-build.js');
      ctx.fail(await runBuild(options, ctx));
    });
}
