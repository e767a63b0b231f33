import type { Command } from 'commander';

/** Exit codes of the CLI: 1 = something the command tried failed, 2 = the command line itself is wrong. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Output streams of one CLI run (process.stdout/stderr in production). */
export interface CliStreams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** What a subcommand gets besides its parsed options: where to write, and how to report failure. */
export interface CliContext extends CliStreams {
  /** Raises the exit code of this run (never lowers it). */
  fail(code: number): void;
}

/**
 * One subcommand module. `register` adds the command to the program; its action should load heavy
 * modules (onnxruntime, sharp, fastify) with `await import()` so `--help` stays instant.
 */
export interface CommandModule {
  register(program: Command, ctx: CliContext): void;
}

/**
 * A mistake on the command line found after parsing (a value the library refused, a conflicting flag).
 * main() prints it like commander's own usage errors and exits 2.
 */
export class CliUsageError extends Error {
  /** A stable code for the one-line message (`error [code]: ...`), where there is one. */
  readonly code: string | undefined;
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(message, options);
    this.name = 'CliUsageError';
    this.code = options?.code;
  }
}
