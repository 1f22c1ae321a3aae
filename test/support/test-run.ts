/**
 * The whole-run secrets check's recording side. `npm test` (scripts/test.js) sets
 * POMONA_TEST_RUN_DIR: Pomona's loggers then copy every line there (src/http/log.ts), and test
 * support records every secret the tests create in `secrets/`, one JSON line `{kind, value}` each,
 * for test/final/secrets-in-logs.test.ts to look for in those logs. Unset (a plain
 * `npx vitest run`), nothing is recorded.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const testRunDir = (): string | undefined => process.env.POMONA_TEST_RUN_DIR || undefined;

/** Below this length a value could turn up in a log by chance (a short test password, a PIN). */
export const MIN_SECRET_LENGTH = 8;

let file: string | undefined;

/** Records a secret the run created, under a kind that names it in a failure (the value is never printed). */
export function recordSecret(kind: string, value: string | Buffer | null | undefined): void {
  const dir = testRunDir();
  if (!dir || value === null || value === undefined) return;
  const text = typeof value === 'string' ? value : value.toString('base64');
  if (text.length < MIN_SECRET_LENGTH) return;
  if (!file) {
    mkdirSync(join(dir, 'secrets'), { recursive: true });
    file = join(dir, 'secrets', `${process.pid}.jsonl`);
  }
  appendFileSync(file, JSON.stringify({ kind, value: text }) + '\n');
}
