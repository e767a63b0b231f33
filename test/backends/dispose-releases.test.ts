// A disposed CPU backend leaves nothing behind: its worker threads and their onnxruntime sessions'
// threads have exited, its recycled input buffers are collectable, and the freed native heap is
// handed back to the OS. Asserted on the process's threads and on weak references, not on timings.
import { readdirSync } from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { OrtWorkerPool } from '../../dist/backends/onnxruntime-pool.js';
import { trimNativeHeap } from '../../dist/native/trim.js';
import { writeSyntheticModel, type SyntheticModelSpec } from '../helpers/synthetic-model.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const SPEC: SyntheticModelSpec = {
  width: 320,
  height: 256,
  nc: 3,
  detections: [{ anchor: 10, box: [100, 80, 40, 60], scores: [0.9, 0.1, 0.05] }],
};
const threads = () => readdirSync('/proc/self/task').length;

function makePool(modelPath: string): OrtWorkerPool {
  return new OrtWorkerPool({
    workers: 2,
    modelPath,
    inputName: 'images',
    outputName: 'output0',
    inputType: 'float32',
    fixedBatch: 1,
    // Sessions with their own intra-op threads: those must end with the session.
    intraOpThreads: 2,
    interOpThreads: 1,
    spinning: true,
  });
}

/** Starts a pool and runs it twice: the input buffers the workers hand back are kept for reuse. */
async function use(pool: OrtWorkerPool): Promise<void> {
  await pool.start();
  const length = 3 * SPEC.height * SPEC.width;
  for (let i = 0; i < 2; i++) {
    await pool.run({
      tensor: pool.inputBuffer('float32', length).fill(0.5),
      dims: [1, 3, SPEC.height, SPEC.width],
    });
  }
}

describe.runIf(process.platform === 'linux')('disposing the onnxruntime pool', () => {
  it('ends its workers and session threads, and drops its buffers', async () => {
    const model = writeSyntheticModel(SPEC);
    // A first pool starts what the process keeps anyway (libuv's thread pool, V8 helpers).
    const first = makePool(model);
    await use(first);
    await first.dispose();
    const baseline = threads();

    // In a function of its own so that nothing on this stack still refers to the pool afterwards.
    const ref = await (async () => {
      const pool = makePool(model);
      await use(pool);
      expect(threads()).toBeGreaterThanOrEqual(baseline + 2 * 2); // 2 workers, each with session threads
      expect(pool.recycledBytes).toBeGreaterThan(0);
      await pool.dispose();
      expect(pool.alive).toBe(0);
      expect(pool.recycledBytes).toBe(0);
      return new WeakRef(pool);
    })();
    expect(threads()).toBe(baseline);

    // Nothing (a worker listener, a timer) keeps the disposed pool, and so its buffers, reachable.
    for (let i = 0; i < 3 && ref.deref() !== undefined; i++) {
      await new Promise((r) => setImmediate(r));
      gc();
    }
    expect(ref.deref()).toBeUndefined();
  });

  it('swapping pools does not add threads, and the native heap is trimmed', async () => {
    const model = writeSyntheticModel(SPEC);
    const counts: number[] = [];
    for (let i = 0; i < 4; i++) {
      const pool = makePool(model);
      await use(pool);
      await pool.dispose();
      counts.push(threads());
    }
    expect(new Set(counts).size).toBe(1);
    // glibc: the trim ran and can run again (true = it released memory, false = nothing to release).
    expect(typeof (await trimNativeHeap())).toBe('boolean');
  });
});
