/**
 * Issue 7 §3, "secrets never logged", over a whole `npm test` run: every Pomona logger in it
 * copied its lines, at trace level, into the run directory (src/http/log.ts) and test support
 * recorded every secret the tests created or configured (test/support/secret-recorders.ts,
 * test/support/server.ts). No log file may hold any of them. Runs only after the main run of
 * scripts/test.js, which sets POMONA_TEST_RUN_DIR; a failure names the secret's kind and the
 * file, never the secret.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findLeaks, listFiles, readSecrets } from './secret-scan.js';
import { MIN_SECRET_LENGTH, testRunDir } from '../support/test-run.js';

const dir = testRunDir();

describe.skipIf(!dir)('secrets in the logs of the whole run', () => {
  const logs = listFiles(join(dir ?? '', 'logs'));
  const secrets = readSecrets(join(dir ?? '', 'secrets'));

  // After the whole suite an empty directory means the capture or the recording broke; a run
  // narrowed to a few files may simply have started no server.
  const whole = process.env.POMONA_TEST_RUN_WHOLE === '1';
  it.skipIf(!whole && (logs.length === 0 || secrets.length === 0))('had logs and secrets to compare (the capture and the recording worked)', () => {
    const bytes = logs.reduce((n, f) => n + statSync(f).size, 0);
    const kinds = new Set(secrets.map((s) => s.kind.replace(/,.*$/, '')));
    console.log(`${secrets.length} secrets of ${kinds.size} kinds, ${logs.length} log files (${(bytes / 1e6).toFixed(1)} MB)`);
    expect(logs.length).toBeGreaterThan(0);
    expect(secrets.length).toBeGreaterThan(0);
  });

  it('finds no recorded secret in any log file', () => {
    const leaks = findLeaks(logs, secrets, MIN_SECRET_LENGTH).map((l) => `${l.kind} in ${l.file}`);
    expect(leaks).toEqual([]);
  });
});
