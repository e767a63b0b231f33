/**
 * What the benchmark scripts share: where the assets are, the nearest-rank percentile every table uses,
 * a detector that answers at once with canned results (so a table measures the server, not inference),
 * and a `yolo-trt serve` process started the way users start it.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

export const ASSETS = path.resolve(process.env.YOLO_TRT_ASSETS ?? '../shared/assets');
export const DEFAULT_MODEL = path.join(ASSETS, 'models/yolo11n.onnx');
export const DEFAULT_IMAGE = path.join(ASSETS, 'images/bus.jpg');

/** Nearest-rank percentile of an ascending array; NaN when it is empty. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** A served detector (createServer's detectorFactory) that answers every image with `result` at once. */
export function instantDetector(model, result) {
  return {
    model,
    backend: 'cpu',
    maxBatch: 1,
    concurrency: 1,
    detectBatchSettled: async (inputs) => inputs.map(() => ({ ok: true, result })),
    detectTensor: async (_tensor, n) => Array.from({ length: n }, () => result),
    dispose: async () => {},
  };
}

/**
 * Starts `yolo-trt serve --model m=MODEL --port 0 --no-grpc --log-level warn --config CONFIG` and
 * resolves once it prints its address: { child, origin, output } where output.lines counts every line
 * it has written to stdout and stderr so far.
 */
export async function startServe(model, config) {
  const child = spawn(
    process.execPath,
    [
      'bin/yolo-trt.js',
      'serve',
      '--model',
      `m=${model}`,
      '--port',
      '0',
      '--no-grpc',
      '--log-level',
      'warn',
    ].concat(['--config', config]),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output = { lines: 0, text: '' };
  let origin = '';
  const onData = (d) => {
    const s = d.toString();
    output.lines += s.split('\n').length - 1;
    if (origin === '') output.text += s;
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  for (let i = 0; i < 1200 && origin === ''; i++) {
    const m = / on (http:\/\/[^\s]+)/.exec(output.text);
    if (m) origin = m[1];
    else if (child.exitCode !== null) throw new Error(`serve exited: ${output.text}`);
    else await new Promise((r) => setTimeout(r, 50));
  }
  if (origin === '') {
    child.kill('SIGKILL');
    throw new Error(`serve did not start: ${output.text}`);
  }
  return { child, origin, output };
}
