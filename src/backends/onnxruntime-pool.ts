/**
 * A pool of onnxruntime worker threads, one session each, with a job queue.
 *
 * - Each worker runs one job at a time; queued jobs go to the idle worker that has been busy the least.
 * - Workers are stopped with a 'close' message, never worker.terminate(): terminating a thread inside
 *   onnxruntime aborts the whole process (see onnxruntime-worker.ts).
 * - A worker that dies (uncaught error, out of memory) rejects its in-flight job with
 *   ERR_INFERENCE and is respawned; a respawn that fails to load, or too many deaths in a short time,
 *   mark the slot dead. When no slot is left the pool is broken: queued and future jobs reject with the
 *   reason instead of waiting forever.
 * - Input buffers come back from the worker with the result and are kept for reuse (inputBuffer()):
 *   the first write to freshly allocated memory costs page faults (measured: 14 ms for one 640x640
 *   float32 tensor on the 2-core dev VM), which would otherwise land on the main thread per job.
 * - Idle workers are unref'd so a forgotten detector does not keep the process alive; a worker with work
 *   is ref'd so pending results are not cut off by process exit.
 */
import { Worker } from 'node:worker_threads';
import { YoloTrtError, abortError } from '../errors.js';
import { trimNativeHeap } from '../native/trim.js';
import type { FromWorker, ToWorker, WorkerSessionOptions } from './onnxruntime-messages.js';

export interface PoolOptions extends WorkerSessionOptions {
  workers: number;
}

export interface RunInput {
  tensor: Float32Array | Uint16Array;
  dims: [number, number, number, number];
}

export interface RunOutput {
  output: Float32Array;
  dims: number[];
  ms: number;
}

interface Job {
  id: number;
  input: RunInput;
  resolve: (out: RunOutput) => void;
  reject: (err: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  settled: boolean;
}

interface Slot {
  index: number;
  worker: Worker | null;
  state: 'loading' | 'idle' | 'busy' | 'dead';
  job: Job | null;
  busyMs: number;
  /** Times of recent unexpected exits, for the respawn budget. */
  deaths: number[];
  /** Why the worker last died (its 'error' event), for the exit message. */
  lastError: Error | null;
}

/** A slot that dies more than this many times within DEATH_WINDOW_MS stays dead. */
const MAX_DEATHS = 3;
const DEATH_WINDOW_MS = 60_000;

const WORKER_URL = new URL('./onnxruntime-worker.js', import.meta.url);

export class OrtWorkerPool {
  readonly #options: PoolOptions;
  readonly #slots: Slot[];
  readonly #queue: Job[] = [];
  #nextId = 1;
  #disposed = false;
  /** Set when every slot is dead: why the pool cannot run anything. */
  #broken: YoloTrtError | null = null;
  /** Input buffers handed back by the workers, ready for reuse. */
  readonly #freeInputs: ArrayBuffer[] = [];
  /** Keep returned buffers only once someone asked for one (a caller that brings its own never does). */
  #recycling = false;

  constructor(options: PoolOptions) {
    this.#options = options;
    this.#slots = Array.from({ length: options.workers }, (_, index) => ({
      index,
      worker: null,
      state: 'dead',
      job: null,
      busyMs: 0,
      deaths: [],
      lastError: null,
    }));
  }

  get size(): number {
    return this.#slots.length;
  }

  /** Bytes of input buffers kept for reuse (0 once disposed). */
  get recycledBytes(): number {
    return this.#freeInputs.reduce((a, b) => a + b.byteLength, 0);
  }

  /** Number of workers alive (loading, idle or busy). */
  get alive(): number {
    return this.#slots.filter((s) => s.state !== 'dead').length;
  }

  /** Starts every worker and loads the session; rejects with ERR_MODEL_LOAD (and stops them) on failure. */
  async start(): Promise<void> {
    const loads = this.#slots.map((slot) => this.#spawn(slot));
    const results = await Promise.allSettled(loads);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await this.dispose();
      throw failed.reason;
    }
  }

  run(input: RunInput, signal?: AbortSignal): Promise<RunOutput> {
    if (this.#disposed) return Promise.reject(disposedError());
    if (this.#broken) return Promise.reject(this.#broken);
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise<RunOutput>((resolve, reject) => {
      const job: Job = {
        id: this.#nextId++,
        input,
        resolve,
        reject,
        signal,
        onAbort: undefined,
        settled: false,
      };
      if (signal) {
        job.onAbort = () => {
          // Queued: drop it. Running: the worker finishes and its result is discarded.
          const at = this.#queue.indexOf(job);
          if (at >= 0) this.#queue.splice(at, 1);
          this.#settle(job, null, abortError(signal));
        };
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.#queue.push(job);
      this.#pump();
    });
  }

  /**
   * A tensor of `length` values to fill and pass to run(): a recycled buffer when one of that size is
   * free (its pages are already mapped), else a new one. Contents are stale: overwrite all of it.
   */
  inputBuffer(dtype: 'float32', length: number): Float32Array;
  inputBuffer(dtype: 'float16', length: number): Uint16Array;
  inputBuffer(dtype: 'float32' | 'float16', length: number): Float32Array | Uint16Array {
    this.#recycling = true;
    const bytes = length * (dtype === 'float32' ? 4 : 2);
    const at = this.#freeInputs.findIndex((b) => b.byteLength === bytes);
    const buffer = at >= 0 ? (this.#freeInputs.splice(at, 1)[0] as ArrayBuffer) : new ArrayBuffer(bytes);
    return dtype === 'float32' ? new Float32Array(buffer) : new Uint16Array(buffer);
  }

  #recycle(buffer: ArrayBuffer | undefined): void {
    if (!this.#recycling || buffer === undefined || buffer.byteLength === 0 || this.#disposed) return;
    // Enough for every worker to have one running and one queued; the oldest go first.
    if (this.#freeInputs.length >= 2 * this.#slots.length + 1) this.#freeInputs.shift();
    this.#freeInputs.push(buffer);
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const job of this.#queue.splice(0)) this.#settle(job, null, disposedError());
    const exits: Promise<void>[] = [];
    for (const slot of this.#slots) {
      if (slot.job) this.#settle(slot.job, null, disposedError());
      slot.job = null;
      slot.state = 'dead';
      if (slot.worker) exits.push(closeWorker(slot.worker));
      slot.worker = null;
    }
    this.#freeInputs.length = 0;
    await Promise.allSettled(exits);
    // The sessions and their threads are gone; glibc would keep their freed memory mapped (RSS grew
    // ~3 MB per model swap until every arena was full): hand it back.
    await trimNativeHeap();
  }

  /**
   * Test hook: worker `index` exits with `code` as a crash would, during the run in progress or the next
   * one (whose result it drops). The pool is not told; it sees an unexpected exit.
   */
  crashWorkerForTesting(index: number, code = 70): void {
    this.#slots[index]?.worker?.postMessage({ type: 'exit-for-testing', code } satisfies ToWorker);
  }

  describe(): { workers: number; alive: number; queued: number; busy: number } {
    return {
      workers: this.#slots.length,
      alive: this.alive,
      queued: this.#queue.length,
      busy: this.#slots.filter((s) => s.state === 'busy').length,
    };
  }

  /** Creates the slot's worker and resolves once its session is loaded. */
  #spawn(slot: Slot): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let loaded = false;
      let worker: Worker;
      try {
        // A clean execArgv: the worker must not inherit the parent's flags (`node --input-type=module
        // -e ...` makes Node refuse to load the worker's file; --inspect would clash on the port).
        worker = new Worker(WORKER_URL, { execArgv: [] });
      } catch (err) {
        slot.state = 'dead';
        reject(
          new YoloTrtError(
            'ERR_MODEL_LOAD',
            `Could not start an onnxruntime worker thread: ${(err as Error).message}`,
            {
              cause: err,
            },
          ),
        );
        return;
      }
      slot.worker = worker;
      slot.state = 'loading';
      slot.lastError = null;
      worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'loaded') {
          if (
            !msg.inputNames.includes(this.#options.inputName) ||
            !msg.outputNames.includes(this.#options.outputName)
          ) {
            loaded = true; // handled here; the exit that follows is expected
            slot.state = 'dead';
            void closeWorker(worker);
            reject(
              new YoloTrtError(
                'ERR_MODEL_LOAD',
                `onnxruntime loaded ${this.#options.modelPath} but its inputs [${msg.inputNames.join(', ')}] / outputs [${msg.outputNames.join(', ')}] do not include '${this.#options.inputName}' / '${this.#options.outputName}'`,
              ),
            );
            return;
          }
          loaded = true;
          slot.state = 'idle';
          worker.unref();
          resolve();
          this.#pump();
        } else if (msg.type === 'load-error') {
          loaded = true;
          slot.state = 'dead';
          void closeWorker(worker);
          reject(
            new YoloTrtError(
              'ERR_MODEL_LOAD',
              `onnxruntime could not load ${this.#options.modelPath}: ${msg.message}`,
              { details: { path: this.#options.modelPath } },
            ),
          );
        } else {
          this.#onJobMessage(slot, msg);
        }
      });
      worker.on('error', (err) => {
        slot.lastError = err;
      });
      worker.on('messageerror', (err) => {
        slot.lastError = err;
      });
      worker.on('exit', (code) => {
        if (slot.worker !== worker) return; // replaced or disposed
        slot.worker = null;
        if (this.#disposed) return;
        const why = slot.lastError ? `: ${slot.lastError.message}` : '';
        if (!loaded) {
          slot.state = 'dead';
          reject(
            new YoloTrtError(
              'ERR_MODEL_LOAD',
              `The onnxruntime worker exited (code ${code}) while loading ${this.#options.modelPath}${why}`,
              { cause: slot.lastError ?? undefined },
            ),
          );
          this.#checkBroken(`a worker exited while loading the model (code ${code})${why}`);
          return;
        }
        if (slot.state === 'dead') return; // we closed it after a load problem
        this.#onDeath(slot, code, why);
      });
      worker.postMessage({ type: 'load', options: this.#options } satisfies ToWorker);
    });
  }

  #onDeath(slot: Slot, code: number, why: string): void {
    const job = slot.job;
    slot.job = null;
    slot.state = 'dead';
    const message = `The onnxruntime worker ${slot.index} exited unexpectedly (code ${code})${why}`;
    if (job)
      this.#settle(
        job,
        null,
        new YoloTrtError('ERR_INFERENCE', message, { cause: slot.lastError ?? undefined }),
      );
    const now = Date.now();
    slot.deaths = slot.deaths.filter((t) => now - t < DEATH_WINDOW_MS);
    slot.deaths.push(now);
    if (slot.deaths.length > MAX_DEATHS) {
      this.#checkBroken(`${message}; it died ${slot.deaths.length} times in ${DEATH_WINDOW_MS / 1000} s`);
      return;
    }
    this.#spawn(slot).catch((err: unknown) => {
      slot.state = 'dead';
      this.#checkBroken(`${message} and could not be restarted: ${(err as Error).message}`);
    });
  }

  /** When no worker is left, fail everything waiting instead of letting it hang. */
  #checkBroken(reason: string): void {
    if (this.#disposed || this.alive > 0) return;
    this.#broken = new YoloTrtError('ERR_INFERENCE', `The CPU backend is broken: ${reason}`);
    for (const job of this.#queue.splice(0)) this.#settle(job, null, this.#broken);
  }

  #onJobMessage(slot: Slot, msg: FromWorker): void {
    if (msg.type !== 'result' && msg.type !== 'run-error') return;
    this.#recycle(msg.input);
    const job = slot.job;
    if (!job || job.id !== msg.id) return;
    slot.job = null;
    slot.state = 'idle';
    slot.worker?.unref();
    if (msg.type === 'result') {
      slot.busyMs += msg.ms;
      this.#settle(job, { output: new Float32Array(msg.output), dims: msg.dims, ms: msg.ms }, null);
    } else {
      this.#settle(
        job,
        null,
        new YoloTrtError(
          'ERR_INFERENCE',
          `onnxruntime failed to run ${this.#options.modelPath}: ${msg.message}`,
        ),
      );
    }
    this.#pump();
  }

  /** Hands queued jobs to idle workers, least total busy time first. */
  #pump(): void {
    while (this.#queue.length > 0) {
      let best: Slot | null = null;
      for (const s of this.#slots) {
        if (s.state === 'idle' && s.worker && (best === null || s.busyMs < best.busyMs)) best = s;
      }
      if (best === null) return;
      const job = this.#queue.shift() as Job;
      this.#dispatch(best, job);
    }
  }

  #dispatch(slot: Slot, job: Job): void {
    const worker = slot.worker as Worker;
    slot.job = job;
    slot.state = 'busy';
    worker.ref();
    const { tensor, dims } = job.input;
    const message: ToWorker = {
      type: 'run',
      id: job.id,
      tensor: tensor.buffer as ArrayBuffer,
      dtype: tensor instanceof Uint16Array ? 'float16' : 'float32',
      dims,
    };
    const ownsBuffer = tensor.byteOffset === 0 && tensor.byteLength === tensor.buffer.byteLength;
    try {
      if (!ownsBuffer) {
        // A view into a bigger buffer: send only its bytes (a copy), never the whole buffer.
        message.tensor = tensor.slice().buffer as ArrayBuffer;
      }
      worker.postMessage(message, [message.tensor]);
    } catch {
      // Some buffers cannot be transferred (external memory from a native addon): copy instead.
      worker.postMessage({ ...message, tensor: tensor.slice().buffer as ArrayBuffer });
    }
  }

  #settle(job: Job, value: RunOutput | null, error: unknown): void {
    if (job.settled) return;
    job.settled = true;
    if (job.signal && job.onAbort) job.signal.removeEventListener('abort', job.onAbort);
    if (error !== null) job.reject(error);
    else job.resolve(value as RunOutput);
  }
}

/** How long dispose waits for a worker to finish its current run before leaving it behind (unref'd). */
const CLOSE_TIMEOUT_MS = 30_000;

/** Asks a worker to finish what it is doing and exit; resolves when it has (or was given up on). */
function closeWorker(worker: Worker): Promise<void> {
  return new Promise<void>((resolve) => {
    if (worker.threadId < 0) {
      resolve(); // already exited
      return;
    }
    const timer = setTimeout(() => {
      // A run that never ends: do not terminate (that aborts the process); just stop waiting for it.
      worker.unref();
      resolve();
    }, CLOSE_TIMEOUT_MS);
    timer.unref();
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    try {
      worker.postMessage({ type: 'close' } satisfies ToWorker);
    } catch {
      // Already gone.
    }
    // While it finishes, keep the process alive for it; an exited worker emits 'exit' anyway.
    worker.ref();
  });
}

function disposedError(): YoloTrtError {
  return new YoloTrtError('ERR_DISPOSED', 'The CPU backend has been disposed');
}
