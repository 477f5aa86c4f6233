import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // The browser suites load the built console: build it once, before any suite, if stale.
    globalSetup: ['test/support/console-build.ts'],
  },
});
