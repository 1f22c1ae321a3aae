/**
 * Vitest setup file (vitest.config.ts): in a run of scripts/test.js, which sets
 * POMONA_TEST_RUN_DIR, wraps the places Pomona creates secrets so each is recorded for the final
 * check (test/final/secrets-in-logs.test.ts). In any other run it loads nothing.
 *
 * Only for the integration tests (test/): they are what run Pomona's captured loggers (contexts,
 * servers), and they load these modules anyway. Unit tests beside the code (src/) log through
 * their own loggers, which are not captured; loading the services there would cost a run about
 * 1.5 s a file.
 */
import { expect } from 'vitest';
import { relative } from 'node:path';
import { testRunDir } from './test-run.js';

const file = relative(process.cwd(), expect.getState().testPath ?? '');
if (testRunDir() && !file.startsWith('src/')) await import('./secret-recorders.js');
