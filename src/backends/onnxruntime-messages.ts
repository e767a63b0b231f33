/**
 * The messages between the onnxruntime worker pool (main thread) and each worker. Types only: imported
 * with `import type` on both sides so nothing is bundled twice.
 */

export interface WorkerSessionOptions {
  /** Absolute model path; onnxruntime reads the file itself inside the worker. */
  modelPath: string;
  inputName: string;
  outputName: string;
  inputType: 'float32' | 'float16';
  /** Fixed batch of the model input (smaller runs are zero-padded to it), or null when dynamic. */
  fixedBatch: number | null;
  intraOpThreads: number;
  interOpThreads: number;
  /** Pool threads busy-wait between operators (onnxruntime's session.*.allow_spinning). */
  spinning: boolean;
}

export type ToWorker =
  | { type: 'load'; options: WorkerSessionOptions }
  | {
      type: 'run';
      id: number;
      /** [n, 3, H, W] of `dtype` values (half bits for float16); transferred, not copied, when possible. */
      tensor: ArrayBuffer;
      dtype: 'float32' | 'float16';
      dims: [number, number, number, number];
    }
  /** Finish the current load/run, release the session, close the port: the worker then exits by itself. */
  | { type: 'close' }
  /** Tests only: exit with `code` as a crash would, in the current or next run (its result is dropped). */
  | { type: 'exit-for-testing'; code: number };

export type FromWorker =
  | { type: 'loaded'; inputNames: string[]; outputNames: string[] }
  | { type: 'load-error'; message: string }
  | {
      type: 'result';
      id: number;
      /** float32 [n, 4 + nc, anchors] (fp16 outputs are widened in the worker). */
      output: ArrayBuffer;
      dims: number[];
      /** Wall time of session.run in ms. */
      ms: number;
      /** The job's input buffer, handed back for reuse (see OrtWorkerPool.inputBuffer). */
      input: ArrayBuffer;
    }
  | { type: 'run-error'; id: number; message: string; input: ArrayBuffer };
