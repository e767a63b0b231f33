// The flags `yolo-trt serve` takes, read from the built CLI's own --help (bin/yolo-trt.js), so deploy/
// files are checked against the real command line rather than a copy of it.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/yolo-trt.js', import.meta.url));

let cached: Map<string, boolean> | undefined;

/** Flag -> whether it takes a value (`--port <port>`), from `yolo-trt serve --help`. */
export function serveFlags(): Map<string, boolean> {
  if (cached) return cached;
  const help = execFileSync(process.execPath, [BIN, 'serve', '--help'], { encoding: 'utf8' });
  cached = new Map(
    [...help.matchAll(/^\s+(?:-\w, )?(--[a-z][a-z-]*)( <[^>]+>)?/gm)].map((m) => [m[1]!, m[2] !== undefined]),
  );
  return cached;
}

/**
 * The flags and values of a `yolo-trt serve` argument list (after `serve`): throws on an unknown flag,
 * a flag without its value, or a stray positional argument (serve takes none). `--flag=value` is accepted.
 */
export function parseServeArgs(args: readonly string[]): Map<string, string | true> {
  const flags = serveFlags();
  const out = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    if (!flag.startsWith('--')) throw new Error(`serve takes no positional argument: '${arg}'`);
    const takesValue = flags.get(flag);
    if (takesValue === undefined) throw new Error(`yolo-trt serve has no flag ${flag}`);
    if (!takesValue) {
      out.set(flag, true);
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) {
      throw new Error(`${flag} needs a value`);
    }
    out.set(flag, value);
  }
  return out;
}
