import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Whole-run checks: scripts/test.js runs them after everything else (test/final/vitest.config.ts).
    exclude: [...configDefaults.exclude, 'test/final/**'],
    // Records the secrets tests create, in a run of scripts/test.js only.
    setupFiles: ['test/support/record-secrets.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
