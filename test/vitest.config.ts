import { defineConfig } from 'vitest/config';

/** One config for every suite: unit tests run anywhere, lab suites need root on Linux (see test/lab/README.md). */
export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
  },
});
