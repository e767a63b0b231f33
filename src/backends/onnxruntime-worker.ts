/**
 * One onnxruntime session in a worker thread. onnxruntime-node's `session.run` computes on the thread
 * that calls it (a yolo11n run stalled the main event loop by 121 ms), so the backend keeps every session
 * here and talks to it with messages (see onnxruntime-messages.ts). One run at a time per worker: the
 * pool never sends a second run before the first answered.
 *
 * Never `worker.terminate()` this thread while onnxruntime is loading or running: onnxruntime-node 1.30
 * then throws a C++ Napi::Error nobody catches and the whole process aborts (reproduced every time).
 * Shutdown is the 'close' message, handled between operations.
 */
import { parentPort } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { float32ToHalfArray, halfToFloat32Array } from './half.js';
import type { FromWorker, ToWorker, WorkerSessionOptions } from './onnxruntime-messages.js';

// Node >= 24 has a global Float16Array. onnxruntime-common 1.30 then stores 'float16' tensors in one (its
// check is lazy, at the first Tensor), but onnxruntime-node's binding cannot read a Float16Array ("not
// enough space: expected N, got 0") and output halves would arrive as numbers, not bits. This thread only
// runs onnxruntime, so hide the global here: halves travel as Uint16Array bits on every Node version.
Reflect.deleteProperty(globalThis, 'Float16Array');

if (parentPort === null) throw new Error('onnxruntime-worker.js must run in a worker thread');
const port = parentPort;

let session: ort.InferenceSession | null = null;
let options: WorkerSessionOptions | null = null;
/** The load or run in progress; close waits for it. */
let busy: Promise<void> = Promise.resolve();
/** Set by 'exit-for-testing': exit instead of answering the run in progress or the next one. */
let exitCode: number | null = null;

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function load(opts: WorkerSessionOptions): Promise<void> {
  try {
    session = await ort.InferenceSession.create(opts.modelPath, {
      executionProviders: ['cpu'],
      // 'all' is onnxruntime's default and what the golden detections were made with: other levels
      // change the float results (fusions reorder arithmetic).
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: opts.intraOpThreads,
      interOpNumThreads: opts.interOpThreads,
      // Warnings (e.g. unused initializers) would spam the host's stderr; errors still throw.
      logSeverityLevel: 3,
      // Spinning threads keep a core busy between operators: faster alone, slower when the cores are shared.
      ...(opts.spinning
        ? {}
        : { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } }),
    });
    options = opts;
    post({ type: 'loaded', inputNames: [...session.inputNames], outputNames: [...session.outputNames] });
  } catch (err) {
    post({ type: 'load-error', message: errorMessage(err) });
  }
}

/** The input tensor in the model's element type, zero-padded to a fixed batch if the model has one. */
function makeInput(msg: Extract<ToWorker, { type: 'run' }>, opts: WorkerSessionOptions): ort.Tensor {
  const [n, c, h, w] = msg.dims;
  let data: Float32Array | Uint16Array =
    msg.dtype === 'float16' ? new Uint16Array(msg.tensor) : new Float32Array(msg.tensor);
  if (data.length !== n * c * h * w) {
    throw new Error(
      `tensor has ${data.length} values but dims [${msg.dims.join(', ')}] need ${n * c * h * w}`,
    );
  }
  if (opts.inputType === 'float16' && data instanceof Float32Array) data = float32ToHalfArray(data);
  if (opts.inputType === 'float32' && data instanceof Uint16Array) data = halfToFloat32Array(data);
  let batch = n;
  if (opts.fixedBatch !== null && n < opts.fixedBatch) {
    // A static batch-B model needs exactly B images: pad with zeros, drop their outputs afterwards.
    const padded =
      data instanceof Float32Array
        ? new Float32Array(opts.fixedBatch * c * h * w)
        : new Uint16Array(opts.fixedBatch * c * h * w);
    padded.set(data);
    data = padded;
    batch = opts.fixedBatch;
  }
  return new ort.Tensor(opts.inputType, data, [batch, c, h, w]);
}

/** The output as a standalone float32 buffer for the first `n` batch items. */
function takeOutput(tensor: ort.Tensor, n: number): { buffer: ArrayBuffer; dims: number[] } {
  const dims = [...tensor.dims];
  const perItem = dims.slice(1).reduce((a, b) => a * b, 1);
  let values: Float32Array;
  if (tensor.type === 'float32') values = tensor.data as Float32Array;
  else if (tensor.type === 'float16') values = halfToFloat32Array(tensor.data as Uint16Array);
  else throw new Error(`output is ${tensor.type}, expected float32 or float16`);
  if (dims[0] !== n) {
    values = values.subarray(0, n * perItem);
    dims[0] = n;
  }
  // onnxruntime-node 1.30 hands out a plain ArrayBuffer per output, which can be transferred as is; a
  // view of part of a buffer (padded batch) is copied, here in the worker rather than on the main thread.
  const own = values.byteOffset === 0 && values.byteLength === values.buffer.byteLength;
  const buffer = own ? (values.buffer as ArrayBuffer) : values.slice().buffer;
  return { buffer, dims };
}

async function run(msg: Extract<ToWorker, { type: 'run' }>): Promise<void> {
  try {
    if (exitCode !== null) process.exit(exitCode);
    if (session === null || options === null) throw new Error('the session is not loaded');
    const input = makeInput(msg, options);
    const start = performance.now();
    const outputs = await session.run({ [options.inputName]: input }, [options.outputName]);
    const ms = performance.now() - start;
    const output = outputs[options.outputName];
    if (output === undefined) throw new Error(`the model produced no output '${options.outputName}'`);
    const { buffer, dims } = takeOutput(output, msg.dims[0]);
    input.dispose();
    if (exitCode !== null) process.exit(exitCode);
    const result: FromWorker = { type: 'result', id: msg.id, output: buffer, dims, ms, input: msg.tensor };
    try {
      post(result, [buffer, msg.tensor]);
    } catch {
      post(result); // not transferable after all: structured clone copies it
    }
  } catch (err) {
    post({ type: 'run-error', id: msg.id, message: errorMessage(err), input: msg.tensor }, [msg.tensor]);
  }
}

async function close(): Promise<void> {
  await busy;
  const s = session;
  session = null;
  try {
    await s?.release();
  } finally {
    port.close();
  }
}

port.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'load':
      busy = load(msg.options);
      break;
    case 'run':
      busy = run(msg);
      break;
    case 'close':
      void close();
      break;
    case 'exit-for-testing':
      exitCode = msg.code;
      break;
  }
});
