import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

/** The whole-run checks scripts/test.js runs after the main run (the main config leaves them out). */
export default defineConfig({
  test: {
    root: resolve(import.meta.dirname, '../..'),
    include: ['test/final/**/*.test.ts'],
    testTimeout: 600_000,
    pool: 'forks',
  },
});
