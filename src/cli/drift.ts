import type { Command } from 'commander';
import type { CliContext } from './command.js';
import { parseNumber } from './predict.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('drift')
    .description(
      'Compare a batch of images with a drift reference profile: a table per feature, exit 3 on alert.',
    )
    .argument('<sources...>', 'image files and/or directories (walked recursively)')
    .requiredOption('--profile <file>', 'reference profile (yolo-trt profile)')
    .requiredOption('-m, --model <path>', 'the model the profile was made with')
    .option('--alpha <number>', 'family-wise significance level of an alert (default 0.05)', parseNumber)
    .option('--warn <number>', 'PSI / JS warn threshold for every feature (default 0.1)', parseNumber)
    .option('--alert <number>', 'PSI / JS alert threshold for every feature (default 0.25)', parseNumber)
    .option('--conf <number>', 'confidence threshold, as when profiling (default 0.25)', parseNumber)
    .option('--iou <number>', 'NMS IoU threshold, as when profiling (default 0.7)', parseNumber)
    .option('--backend <name>', 'auto | cpu | tensorrt', 'cpu')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  $ yolo-trt drift --profile profile.json --model yolo11n.onnx todays-images/',
        '',
        'Exit code: 0 no alert, 3 drift alert, 1 an image failed or the profile is for another model, 2 bad usage.',
      ].join('\n'),
    )
    .action(async (sources: string[], options: import('./run-drift.js').DriftCommandOptions) => {
      const { runDrift } = await import('./run-drift.js');
      ctx.fail(await runDrift(sources, options, ctx));
    });
}
