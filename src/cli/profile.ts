import type { Command } from 'commander';
import type { CliContext } from './command.js';
import { parseNumber } from './predict.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('profile')
    .description(
      'Build a drift reference profile: run reference images through the model and store histograms of their features.',
    )
    .argument('[sources...]', 'image files and/or directories (walked recursively)')
    .option('--images <paths...>', 'image files and/or directories (same as the positional sources)')
    .requiredOption('-m, --model <path>', 'YOLO detect model (.onnx export) the profile is for')
    .requiredOption('-o, --output <file>', 'where to write the profile (JSON)')
    .option('--conf <number>', 'confidence threshold, as served (default 0.25)', parseNumber)
    .option('--iou <number>', 'NMS IoU threshold, as served (default 0.7)', parseNumber)
    .option('--backend <name>', 'auto | cpu | tensorrt', 'cpu')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  $ yolo-trt profile --model yolo11n.onnx --images reference/ -o profile.json',
        '  $ yolo-trt serve --model det=yolo11n.onnx --drift-reference det=profile.json',
        '',
        'At least 25 images; a few hundred give finer bins. See docs/monitoring.md.',
      ].join('\n'),
    )
    .action(async (sources: string[], options: import('./run-profile.js').ProfileCommandOptions) => {
      const { runProfile } = await import('./run-profile.js');
      ctx.fail(await runProfile([...sources, ...(options.images ?? [])], options, ctx));
    });
}
