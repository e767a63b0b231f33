// detect() must never block the event loop: a Node service keeps answering while inference runs.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Detector } from '../../dist/index.js';
import { goldenCases, YOLO11N } from '../helpers/golden.js';

let detector: Detector;
beforeAll(async () => {
  detector = await Detector.create({ model: YOLO11N, backend: 'cpu' });
  await detector.detect(goldenCases()[0]!.imagePath); // warm-up: first runs allocate
});
afterAll(async () => {
  await detector?.dispose();
});

it('keeps ticking while detectBatch runs 8 images (max lag well under 50 ms)', async () => {
  const images = goldenCases()
    .slice(0, 8)
    .map((c) => c.imagePath);
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  histogram.enable();
  const started = performance.now();
  const results = await detector.detectBatch(images);
  const elapsed = performance.now() - started;
  histogram.disable();
  clearInterval(timer);
  expect(results).toHaveLength(8);
  const maxLagMs = histogram.max / 1e6;
  // The batch takes hundreds of ms of inference; a blocked loop would show that as lag.
  expect(elapsed).toBeGreaterThan(100);
  expect(maxLagMs).toBeLessThan(50);
  expect(ticks).toBeGreaterThan(elapsed / 5 / 3);
});
