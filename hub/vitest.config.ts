import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real brokers and hubs; each file gets its own process.
    pool: 'forks',
    // Generous because the machines that run CI are shared: a hub start took over 20 s at load 19.
    // Nothing here judges speed; a timeout only bounds how long a broken test hangs.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
