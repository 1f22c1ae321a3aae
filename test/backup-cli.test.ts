/**
 * `pomona backup`, `restore` and `migrate-db` as an admin runs them: real processes on SQLite,
 * the passphrase from the environment, and every refusal one line on stderr with exit status 1.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabaseUrl, postgresAvailable } from './support/db.js';

const run = promisify(execFile);
const PASSPHRASE = 'a passphrase for the cli test';

async function pomona(dir: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/pomona.js', '--data-dir', dir, '--database-url', `sqlite:${join(dir, 'pomona.db')}`, '--log-level', 'silent', ...args], {
      env: { ...process.env, POMONA_CONFIG: '', POMONA_BACKUP_PASSPHRASE: '', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('pomona backup / restore / migrate-db (CLI)', () => {
  let root: string;
  let source: string;
  let file: string;
  const withPass = { POMONA_BACKUP_PASSPHRASE: PASSPHRASE };
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'pomona-backup-cli-'));
    source = join(root, 'source');
    file = join(root, 'backup.pmbk');
    expect((await pomona(source, ['api-token', 'create', '--name', 'ci'])).code).toBe(0);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('backs up with the passphrase from the environment, never from an argument', async () => {
    const missing = await pomona(source, ['backup', '--out', file]);
    expect(missing).toMatchObject({ code: 1, stderr: 'pomona: no backup passphrase: set POMONA_BACKUP_PASSPHRASE (or give --passphrase-env VAR or --passphrase-file FILE)\n' });
    const named = await pomona(source, ['backup', '--out', file, '--passphrase-env', 'MY_PASS']);
    expect(named).toMatchObject({ code: 1, stderr: 'pomona: no backup passphrase: set MY_PASS\n' });
    const ok = await pomona(source, ['backup', '--out', file, '--passphrase-env', 'MY_PASS'], { MY_PASS: PASSPHRASE });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^wrote .*backup\.pmbk: \d+ rows in \d+ tables and the secret key/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect((await pomona(source, ['backup', '--out', file], withPass)).stderr).toMatch(/^pomona: .* exists: use --force to overwrite it\n$/);
    const passFile = join(root, 'passphrase.txt');
    writeFileSync(passFile, `${PASSPHRASE}\n`);
    const fromFile = await pomona(source, ['backup', '--out', file, '--force', '--passphrase-file', passFile]);
    expect(fromFile.code).toBe(0);
  });

  it('restores into a new data directory, and refuses bad input with one line', async () => {
    const target = join(root, 'target');
    const wrong = await pomona(target, ['restore', '--in', file], { POMONA_BACKUP_PASSPHRASE: 'not the passphrase' });
    expect(wrong).toMatchObject({ code: 1, stderr: 'pomona: wrong backup passphrase\n' });
    const cut = join(root, 'cut.pmbk');
    writeFileSync(cut, (await import('node:fs')).readFileSync(file).subarray(0, 200));
    expect(await pomona(target, ['restore', '--in', cut], withPass)).toMatchObject({ code: 1, stderr: expect.stringMatching(/^pomona: the backup file (is truncated|was altered)[^\n]*\n$/) });
    expect(existsSync(join(target, 'secret.key'))).toBe(false);

    const ok = await pomona(target, ['restore', '--in', file], withPass);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^restored the backup of \S+: \d+ rows in \d+ tables, secret key in /);
    const tokens = await pomona(target, ['api-token', 'list']);
    expect(tokens.stdout).toContain('\tci\n');

    const again = await pomona(target, ['restore', '--in', file], withPass);
    expect(again).toMatchObject({ code: 1, stderr: expect.stringMatching(/^pomona: target database is not empty \([^\n]*\): use --force to replace it\n$/) });
    expect((await pomona(target, ['restore', '--in', file, '--force'], withPass)).code).toBe(0);
  });

  it.skipIf(!postgresAvailable)('migrate-db moves the installation to PostgreSQL; it then runs there with the same data directory', async () => {
    const target = await createTestDatabaseUrl('postgres');
    try {
      const moved = await pomona(source, ['migrate-db', '--from', `sqlite:${join(source, 'pomona.db')}`, '--to', target.url]);
      expect(moved.code).toBe(0);
      expect(moved.stdout).toMatch(/^copied \d+ rows in \d+ tables; counts verified/);
      const again = await pomona(source, ['migrate-db', '--from', `sqlite:${join(source, 'pomona.db')}`, '--to', target.url]);
      expect(again).toMatchObject({ code: 1, stderr: expect.stringMatching(/^pomona: target database is not empty \([^\n]*\): use --force to replace it\n$/) });
      const tokens = await pomona(source, ['--database-url', target.url, 'api-token', 'list']);
      expect(tokens.stdout).toContain('\tci\n');
    } finally {
      await target.drop();
    }
  });

  it('migrate-db refuses a source that is not SQLite', async () => {
    const r = await pomona(source, ['migrate-db', '--from', 'postgres://x/y', '--to', 'postgres://x/z']);
    expect(r).toMatchObject({ code: 1, stderr: 'pomona: --from must be sqlite:PATH\n' });
  });
});
