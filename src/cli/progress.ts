import cliProgress from 'cli-progress';

/** A progress bar on stderr that lines printed to the same terminal do not garble. */
export interface Progress {
  /** One more image done. */
  tick(): void;
  /** Writes a whole line (newline added) to `stream`, moving the bar out of the way first. */
  print(stream: NodeJS.WritableStream & { isTTY?: boolean }, line: string): void;
  stop(): void;
}

/**
 * A bar only when stderr is a terminal (never in pipes, CI logs or files) and the caller allows it;
 * otherwise `print` is a plain write and the rest does nothing.
 */
export function createProgress(
  stderr: NodeJS.WritableStream & { isTTY?: boolean },
  total: number,
  enabled: boolean,
): Progress {
  if (!enabled || stderr.isTTY !== true || total < 2) {
    return {
      tick() {},
      print(stream, line) {
        stream.write(`${line}\n`);
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream: stderr,
      format:
        '{bar} {percentage}% | {value}/{total} images | {duration_formatted} elapsed, ETA {eta_formatted}',
      clearOnComplete: true,
      // Keep the terminal's wrapping on (the bar trims itself to the width): summary lines printed while
      // the bar runs must wrap normally.
      linewrap: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    tick() {
      bar.increment();
    },
    print(stream, line) {
      // The bar owns the current terminal line: clear it, write the text, and move the bar's saved cursor
      // position (cli-progress restores it on stop) below the text; the next tick redraws the bar there.
      // A stream that is not a terminal (stdout redirected to a file) needs none of this.
      if (stream.isTTY !== true) {
        stream.write(`${line}\n`);
        return;
      }
      stderr.write('\r\x1b[2K');
      stream.write(`${line}\n`);
      stderr.write('\x1b7');
    },
    stop() {
      bar.stop();
    },
  };
}
