import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/build.global-setup.ts', 'test/container-runtime.global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores on the CI machines: more workers only add contention to fsync-bound tests.
    maxWorkers: 2,
    coverage: {
      provider: 'v8',
      include: ['domain/**/*.ts', 'projections/**/*.ts'],
      reporter: ['text-summary', 'text'],
      thresholds: { lines: 90 },
    },
  },
});
