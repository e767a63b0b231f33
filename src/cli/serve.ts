import { basename } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import type { CliContext } from './command.js';

/** Parsed `serve` options (flags only; the --config file is merged in run-serve.ts). */
export interface ServeOptions {
  model?: { name: string; path: string }[];
  modelRepository?: string;
  port?: number;
  host?: string;
  /** gRPC port (default 8001; 0 = any free port). */
  grpcPort?: number;
  /** false with --no-grpc. */
  grpc?: boolean;
  /** Prometheus /metrics on its own port too (off by default; 8002 is Triton's layout). */
  metricsPort?: number;
  config?: string;
  token?: string;
  backend?: string;
  logLevel?: string;
  demoPage?: boolean;
  driftReference?: { name: string; path: string }[];
  driftWindow?: number;
  driftWindowMs?: number;
  driftMinWindow?: number;
  capture?: { name: string; path: string }[];
  captureRate?: number;
  captureLowConfidence?: number;
  captureDrift?: boolean;
}

/** A number in 0..1 (capture rates and confidences). */
export function parseUnit(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n <= 1)) {
    throw new InvalidArgumentError(`Expected a number between 0 and 1 but received '${value}'.`);
  }
  return n;
}

/** A positive integer flag (window sizes). */
export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || n < 1 || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`Expected a positive integer but received '${value}'.`);
  }
  return n;
}

/** `--model NAME=PATH` or `--model PATH` (served under the file's stem), repeatable. */
export function parseModelFlag(
  value: string,
  previous: { name: string; path: string }[] | undefined,
): { name: string; path: string }[] {
  const eq = value.indexOf('=');
  if (eq === -1 && value !== '') {
    // yolo11n.onnx, models/yolo11n.onnx -> yolo11n
    const stem = basename(value).replace(/\.[^.]*$/, '');
    if (stem !== '') return [...(previous ?? []), { name: stem, path: value }];
  }
  if (eq <= 0 || eq === value.length - 1) {
    throw new InvalidArgumentError(
      `Expected NAME=PATH (e.g. yolo11n=models/yolo11n.onnx) but received '${value}'.`,
    );
  }
  return [...(previous ?? []), { name: value.slice(0, eq), path: value.slice(eq + 1) }];
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^[0-9]{1,5}$/.test(value) || n > 65535) {
    throw new InvalidArgumentError(`Expected a port between 0 and 65535 but received '${value}'.`);
  }
  return n;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description(
      'Serve models over HTTP and gRPC: KServe v2 (Triton-compatible), a detect route, metrics and a demo page.',
    )
    .option(
      '-m, --model <NAME=PATH>',
      'serve PATH as model NAME; a bare PATH is served under its file stem (repeatable)',
      parseModelFlag,
    )
    .option(
      '--model-repository <dir>',
      'Triton-style repository: <dir>/<name>/<version>/model.onnx or <dir>/<name>.onnx',
    )
    .option('-p, --port <port>', 'port to listen on (default 8000; 0 = any free port)', parsePort)
    .option('--grpc-port <port>', 'KServe v2 gRPC port (default 8001; 0 = any free port)', parsePort)
    .option('--no-grpc', 'do not serve gRPC')
    .option(
      '--metrics-port <port>',
      "also serve GET /metrics on this port, without the token (off by default; 8002 is Triton's)",
      parsePort,
    )
    .option('--host <address>', 'address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)')
    .option(
      '-c, --config <file>',
      'JSON config: any of these flags plus per-model settings (see docs/serving.md)',
    )
    .option(
      '--token <token>',
      'require "Authorization: Bearer <token>" except on health probes (env YOLO_TRT_TOKEN)',
    )
    .option('--backend <name>', 'auto | cpu | tensorrt, for every model without its own')
    .option('--log-level <level>', 'fatal | error | warn | info | debug | trace | silent (default info)')
    .option('--no-demo-page', 'do not serve the demo page at /')
    .option(
      '--drift-reference <NAME=FILE>',
      'monitor model NAME for drift against a profile from `yolo-trt profile` (repeatable)',
      parseModelFlag,
    )
    .option('--drift-window <n>', 'drift window: the last N images (default 500)', parsePositiveInt)
    .option('--drift-window-ms <ms>', 'drift window: also forget images older than this', parsePositiveInt)
    .option(
      '--capture <NAME=DIR>',
      'capture images of model NAME for retraining into DIR, an Ultralytics dataset (repeatable)',
      parseModelFlag,
    )
    .option('--capture-rate <r>', 'capture this share of all images (0..1)', parseUnit)
    .option('--capture-low-confidence <c>', 'capture images with a detection scoring below c', parseUnit)
    .option('--capture-drift', 'capture every image while the model is in drift alert')
    .option(
      '--drift-min-window <n>',
      'no drift verdict before N images (10..50, default 25)',
      parsePositiveInt,
    )
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  $ yolo-trt serve --model yolo11n.onnx                 # HTTP :8000, gRPC :8001',
        '  $ curl --data-binary @bus.jpg -H "content-type: image/jpeg" localhost:8000/v2/models/yolo11n/detect',
        '  $ YOLO_TRT_TOKEN=secret yolo-trt serve --model-repository models/ --host 0.0.0.0',
        '',
        'SIGTERM/SIGINT: stop accepting, finish running requests, dispose models, exit 0 (a second signal exits at once).',
      ].join('\n'),
    )
    .action(async (options: ServeOptions) => {
      // Loaded only when serving: fastify, onnxruntime and sharp are not needed for --help.
      const { runServe } = await import('./run-serve.js');
      ctx.fail(await runServe(options, ctx));
    });
}
