// The onnxruntime worker pool on its own (no native addon needed): loading, running, errors, crashes,
// dispose.
import { afterEach, describe, expect, it } from 'vitest';
import { OrtWorkerPool } from '../../dist/backends/onnxruntime-pool.js';
import type { PoolOptions } from '../../dist/backends/onnxruntime-pool.js';
import { isYoloTrtError } from '../../dist/errors.js';
import { anchorsFor, headValues, writeSyntheticModel } from '../helpers/synthetic-model.js';
import type { SyntheticModelSpec } from '../helpers/synthetic-model.js';

const SPEC: SyntheticModelSpec = {
  width: 320,
  height: 256,
  nc: 3,
  detections: [{ anchor: 10, box: [100, 80, 40, 60], scores: [0.9, 0.1, 0.05] }],
};

const pools: OrtWorkerPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.dispose()));
});

function poolFor(spec: SyntheticModelSpec, extra: Partial<PoolOptions> = {}): OrtWorkerPool {
  const pool = new OrtWorkerPool({
    workers: 1,
    modelPath: writeSyntheticModel(spec),
    inputName: 'images',
    outputName: 'output0',
    inputType: spec.inputType ?? 'float32',
    fixedBatch: spec.batch === 'dynamic' ? null : (spec.batch ?? 1),
    intraOpThreads: 1,
    interOpThreads: 1,
    spinning: true,
    ...extra,
  });
  pools.push(pool);
  return pool;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return isYoloTrtError(err) ? err.code : `not a YoloTrtError: ${String(err)}`;
  }
  return 'resolved';
}

function input(n: number, spec = SPEC, fill = 0.5) {
  return {
    tensor: new Float32Array(n * 3 * spec.height * spec.width).fill(fill),
    dims: [n, 3, spec.height, spec.width] as [number, number, number, number],
  };
}

describe('OrtWorkerPool', () => {
  it('runs the synthetic model and returns its constant head', async () => {
    const pool = poolFor(SPEC);
    await pool.start();
    const out = await pool.run(input(1));
    const n = anchorsFor(320, 256);
    expect(out.dims).toEqual([1, 7, n]);
    expect(Array.from(out.output)).toEqual(Array.from(headValues(SPEC)));
    expect(out.ms).toBeGreaterThan(0);
  });

  it('transfers the input buffer instead of copying it', async () => {
    const pool = poolFor(SPEC);
    await pool.start();
    const job = input(1);
    const done = pool.run(job);
    expect(job.tensor.length).toBe(0); // detached: it was moved to the worker
    await done;
  });

  it('hands input buffers back for reuse once someone asks for them', async () => {
    const pool = poolFor(SPEC);
    await pool.start();
    const first = pool.inputBuffer('float32', 3 * 256 * 320).fill(7);
    await pool.run({ tensor: first, dims: [1, 3, 256, 320] });
    const second = pool.inputBuffer('float32', 3 * 256 * 320);
    expect(second[0]).toBe(7); // the same memory came back (stale contents: callers overwrite it)
    expect(pool.inputBuffer('float32', 3 * 256 * 320)[0]).toBe(0); // none left: a fresh one
  });

  it('runs a dynamic batch of 3 and pads a fixed batch of 4', async () => {
    const dyn = poolFor({ ...SPEC, batch: 'dynamic' });
    const fixed = poolFor({ ...SPEC, batch: 4 });
    await Promise.all([dyn.start(), fixed.start()]);
    const head = Array.from(headValues(SPEC));
    for (const pool of [dyn, fixed]) {
      const out = await pool.run(input(3));
      expect(out.dims).toEqual([3, 7, head.length / 7]);
      expect(Array.from(out.output.subarray(2 * head.length))).toEqual(head);
    }
  });

  it('converts float16 inputs and outputs', async () => {
    const spec: SyntheticModelSpec = { ...SPEC, inputType: 'float16', outputType: 'float16' };
    const pool = poolFor(spec);
    await pool.start();
    // A float32 tensor is narrowed in the worker; a Uint16Array is taken as half bits.
    const a = await pool.run(input(1, spec));
    const b = await pool.run({ tensor: new Uint16Array(3 * 256 * 320).fill(0x3800), dims: [1, 3, 256, 320] });
    // The box values are exact in half; the scores round (values from numpy's float16).
    const halves = new Map([
      [Math.fround(0.9), 0.89990234375],
      [Math.fround(0.1), 0.0999755859375],
      [Math.fround(0.05), 0.04998779296875],
    ]);
    const expected = Array.from(headValues(spec)).map((v) => halves.get(v) ?? v);
    expect(Array.from(a.output)).toEqual(expected);
    expect(Array.from(b.output)).toEqual(expected);
  });

  it('a model onnxruntime cannot run -> ERR_MODEL_LOAD with its message', async () => {
    const pool = poolFor({ ...SPEC, unknownOp: true });
    let error: unknown;
    await pool.start().catch((err: unknown) => (error = err));
    expect(isYoloTrtError(error, 'ERR_MODEL_LOAD')).toBe(true);
    expect((error as Error).message).toMatch(/onnxruntime could not load/);
    expect((error as Error).message).toMatch(/NoSuchOp/);
    expect(pool.alive).toBe(0);
  });

  it('a protobuf onnxruntime rejects (unknown IR version) -> ERR_MODEL_LOAD', async () => {
    const pool = poolFor({ ...SPEC, irVersion: 99 });
    expect(await codeOf(pool.start())).toBe('ERR_MODEL_LOAD');
  });

  it('a wrong output name -> ERR_MODEL_LOAD naming it', async () => {
    const pool = poolFor(SPEC, { outputName: 'nope' });
    let error: unknown;
    await pool.start().catch((err: unknown) => (error = err));
    expect(isYoloTrtError(error, 'ERR_MODEL_LOAD')).toBe(true);
    expect((error as Error).message).toMatch(/'nope'/);
  });

  it('a bad tensor size is an ERR_INFERENCE, and the worker keeps working', async () => {
    const pool = poolFor(SPEC);
    await pool.start();
    expect(await codeOf(pool.run({ tensor: new Float32Array(10), dims: [1, 3, 256, 320] }))).toBe(
      'ERR_INFERENCE',
    );
    expect((await pool.run(input(1))).dims[0]).toBe(1);
  });

  it('queues more jobs than workers and answers each one', async () => {
    const pool = poolFor(SPEC, { workers: 2 });
    await pool.start();
    const outs = await Promise.all(Array.from({ length: 7 }, () => pool.run(input(1))));
    expect(outs.map((o) => o.dims[0])).toEqual([1, 1, 1, 1, 1, 1, 1]);
  });

  it('dispose rejects queued and running jobs with ERR_DISPOSED, and later runs too', async () => {
    const pool = poolFor({ ...SPEC, batch: 'dynamic' });
    await pool.start();
    const jobs = Array.from({ length: 4 }, () => codeOf(pool.run(input(8))));
    await pool.dispose();
    expect(await Promise.all(jobs)).toEqual(['ERR_DISPOSED', 'ERR_DISPOSED', 'ERR_DISPOSED', 'ERR_DISPOSED']);
    expect(await codeOf(pool.run(input(1)))).toBe('ERR_DISPOSED');
  });

  it('an aborted queued job is dropped with ABORT_ERR', async () => {
    const pool = poolFor({ ...SPEC, batch: 'dynamic' });
    await pool.start();
    const controller = new AbortController();
    const first = pool.run(input(4));
    const second = codeOf(pool.run(input(4), controller.signal));
    controller.abort();
    expect(await second).toBe('ABORT_ERR');
    expect((await first).dims[0]).toBe(4);
  });

  it('a worker crash rejects its job with ERR_INFERENCE, then the worker is respawned', async () => {
    const pool = poolFor({ ...SPEC, batch: 'dynamic' });
    await pool.start();
    pool.crashWorkerForTesting(0); // the worker dies in its next run
    const running = codeOf(pool.run(input(8)));
    const queued = pool.run(input(1));
    expect(await running).toBe('ERR_INFERENCE');
    // The queued job runs on the respawned worker.
    expect((await queued).dims[0]).toBe(1);
    expect(pool.alive).toBe(1);
  });

  it('a worker that keeps dying marks the pool broken instead of hanging', async () => {
    const pool = poolFor(SPEC);
    await pool.start();
    const codes: string[] = [];
    for (let i = 0; i < 4; i++) {
      pool.crashWorkerForTesting(0); // no-op while the slot has no worker
      codes.push(await codeOf(pool.run(input(1)))); // waits for the respawned worker, if any
    }
    // Crashes 1-3 are respawned, the 4th within a minute marks the slot dead and the pool broken.
    expect(codes).toEqual(['ERR_INFERENCE', 'ERR_INFERENCE', 'ERR_INFERENCE', 'ERR_INFERENCE']);
    expect(pool.alive).toBe(0);
    const error = await pool.run(input(1)).catch((err: unknown) => err);
    expect(isYoloTrtError(error, 'ERR_INFERENCE')).toBe(true);
    expect((error as Error).message).toMatch(/broken/);
  });
});
