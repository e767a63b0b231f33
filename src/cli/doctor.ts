import type { Command } from 'commander';
import type { CliContext } from './command.js';

export interface DoctorOptions {
  json?: boolean;
  cacheDir?: string;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('doctor')
    .description(
      'Show what this machine and this yolo-trt binary can do, and which backend `auto` picks and why.',
    )
    .option('--json', 'print the report as JSON')
    .option('--cache-dir <dir>', 'engine cache folder (default $YOLO_TRT_CACHE or ~/.cache/yolo-trt)')
    .action(async (options: DoctorOptions) => {
      const { runDoctor } = await import('./run-doctor.js');
      ctx.fail(await runDoctor(options, ctx));
    });
}
