/**
 * Vitest setup file (vitest.config.ts): in a run of scripts/test.js, which sets
 * POMONA_TEST_RUN_DIR, wraps the places Pomona creates secrets so each is recorded for the final
 * check (test/final/secrets-in-logs.test.ts). In any other run it loads nothing.
 */
import { testRunDir } from './test-run.js';

if (testRunDir()) await import('./secret-recorders.js');
