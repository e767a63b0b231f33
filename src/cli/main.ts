import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isYoloTrtError } from '../errors.js';
import { rewriteKeyValueArgs } from './key-value.js';
import {
  CliUsageError,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  type CliContext,
  type CliStreams,
  type CommandModule,
} from './command.js';

/**
 * Subcommands, one module each, in help order. Adding a command is one line here; the module exports
 * `register(program, ctx)` (see command.ts).
 */
const COMMANDS: readonly (() => Promise<CommandModule>)[] = [
  () => import('./predict.js'),
  () => import('./val.js'),
  () => import('./track.js'),
  () => import('./serve.js'),
  () => import('./build.js'),
  () => import('./doctor.js'),
  () => import('./profile.js'),
  () => import('./drift.js'),
];

function packageVersion(): string {
  // src/cli/ and dist/cli/ are both two levels below the package root.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? '0.0.0';
}

function createContext(streams: CliStreams): CliContext & { exitCode: number } {
  return {
    ...streams,
    exitCode: EXIT_OK,
    fail(code: number) {
      this.exitCode = Math.max(this.exitCode, code);
    },
  };
}

/** Builds the program with every subcommand registered (exported for tests and `--help` docs). */
export async function buildProgram(ctx: CliContext): Promise<Command> {
  const program = new Command('yolo-trt')
    .description('Ultralytics YOLO detection from Node.js: TensorRT on NVIDIA GPUs, onnxruntime on CPU.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .exitOverride()
    .showSuggestionAfterError()
    .configureOutput({
      writeOut: (s) => void ctx.stdout.write(s),
      writeErr: (s) => void ctx.stderr.write(s),
    });
  for (const load of COMMANDS) (await load()).register(program, ctx);
  return program;
}

/** Turns whatever escaped a command into one line on stderr and an exit code. */
function reportError(err: unknown, program: Command, ctx: CliContext): number {
  if (err instanceof CommanderError) {
    // Commander has already printed its message (or the help/version text).
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT_OK;
    if (err.code === 'commander.unknownCommand') program.outputHelp({ error: true });
    return EXIT_USAGE;
  }
  if (err instanceof CliUsageError) {
    ctx.stderr.write(
      err.code === undefined ? `error: ${err.message}\n` : `error [${err.code}]: ${err.message}\n`,
    );
    return EXIT_USAGE;
  }
  if (isYoloTrtError(err)) {
    ctx.stderr.write(`error [${err.code}]: ${err.message}\n`);
    return err.code === 'ERR_INVALID_OPTION' ? EXIT_USAGE : EXIT_FAILURE;
  }
  // Not one of ours: a bug or an environment failure. Keep the stack, it is what a bug report needs.
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  ctx.stderr.write(`error: ${text}\n`);
  return EXIT_FAILURE;
}

/**
 * Runs the CLI and resolves to the exit code (the caller sets process.exitCode, so pending output is
 * flushed instead of cut off by process.exit).
 */
export async function main(
  argv: readonly string[] = process.argv,
  streams: CliStreams = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  // `yolo-trt predict ... --jsonl - | head -1` closes stdout early: that is not an error worth a stack.
  if (streams.stdout === process.stdout) {
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? EXIT_OK);
      throw err;
    });
  }
  const ctx = createContext(streams);
  const program = await buildProgram(ctx);
  try {
    // `yolo-trt predict model=m.onnx source=bus.jpg conf=0.5` (Ultralytics' form) -> our flags.
    const [node = '', script = '', command, ...rest] = argv;
    const args =
      command === 'predict' || command === 'val' || command === 'track'
        ? [node, script, command, ...rewriteKeyValueArgs(rest)]
        : [...argv];
    await program.parseAsync(args);
  } catch (err) {
    ctx.fail(reportError(err, program, ctx));
  }
  return ctx.exitCode;
}
