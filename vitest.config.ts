import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Tests that start real systemd, namespaces and WireGuard must not race each other on 2 cores.
    pool: 'forks',
    fileParallelism: true,
  },
});
