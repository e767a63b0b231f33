/** Native work runs off the JS thread: timers keep firing while a big batch is letterboxed. */
import { describe, expect, it } from 'vitest';

import type { NativeImage } from '../../dist/native/binding.js';
import { loadNative } from '../../dist/native/load.js';

const native = loadNative();

describe('event loop', () => {
  it('keeps ticking while preprocess runs a big batch', async () => {
    const w = 1920;
    const h = 1080;
    const data = new Uint8Array(w * h * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 255;
    const image: NativeImage = { data, width: w, height: h, stride: w * 3, format: 'rgb' };
    const images = Array.from({ length: 24 }, () => image);

    let ticks = 0;
    let maxGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, 2);
    const started = performance.now();
    const elu0 = performance.eventLoopUtilization();
    const job = native.preprocess(images, { width: 640, height: 640, dtype: 'float32', threads: 1 });
    const callMs = performance.now() - started; // the synchronous part: argument checks + allocation
    last = performance.now();
    const result = await job;
    const { utilization } = performance.eventLoopUtilization(elu0);
    const totalMs = performance.now() - started;
    clearInterval(timer);

    expect(result.tensor.length).toBe(24 * 3 * 640 * 640);
    // The batch takes long enough for the loop to tick many times while it runs...
    expect(ticks).toBeGreaterThanOrEqual(3);
    // ...the loop is idle for most of it (a share that does not grow when the machine is busy: waiting
    // in epoll counts as idle however long the OS takes to wake the thread)...
    expect(utilization).toBeLessThan(0.5);
    // ...and no gap between ticks comes close to the batch's duration (the bound leaves room for
    // scheduling delays on a loaded machine).
    expect(maxGap).toBeLessThan(Math.min(150, totalMs / 2));
    expect(callMs).toBeLessThan(50);
    expect(totalMs).toBeGreaterThan(maxGap);
  });
});
