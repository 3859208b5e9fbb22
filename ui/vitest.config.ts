import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // axe-core on every page the tests visit; a WCAG 2.1 A/AA violation fails the test.
    setupFiles: ['test/helpers/a11y-setup.ts'],
    // Each file starts its own real hub and Chromium; files run one after another to stay
    // gentle on a shared 2-CPU machine.
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
