import { defineConfig } from 'vitest/config';

/** One config for every suite: unit tests run anywhere, lab suites need root on Linux (see test/lab/README.md). */
export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most suites wait on network timeouts and lab set-up, not on the CPU: three files at once on this 2-core machine
    // (vitest's default is cores - 1, one file at a time here). Every lab is its own set of namespaces with its own id.
    maxWorkers: 3,
    globalSetup: ['test/global-setup.ts'],
  },
});
