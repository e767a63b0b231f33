import { defineConfig } from 'vitest/config';

// Tests import the built package (dist/), so `npm test` builds first: that is what users run, and the
// onnxruntime worker threads need real .js files.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-tmp.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // The machine has 2 cores and the suites run real inference: keep file parallelism low.
    maxWorkers: 2,
    pool: 'forks',
  },
});
