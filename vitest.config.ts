import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/build.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests that touch cgroups, network namespaces and the Docker engine share host state;
    // files run one at a time on this 2-core machine so their measurements do not disturb each other.
    fileParallelism: false,
    pool: 'forks',
  },
});
