/**
 * `pomona backup`, `pomona restore` and `pomona migrate-db`. The passphrase never appears on the
 * command line (where `ps` and shell history would show it): it comes from an environment
 * variable or a file.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Command } from '@commander-js/extra-typings';
import type { Config } from '../config.js';
import { createBackup, restoreBackup } from './backup-service.js';
import { migrateDatabase } from './migrate-db-service.js';

type ConfigFrom = (cmd: { optsWithGlobals(): Record<string, unknown> }) => Config;

export const DEFAULT_PASSPHRASE_ENV = 'POMONA_BACKUP_PASSPHRASE';

/** The passphrase from --passphrase-file, else the named (or default) environment variable. */
export function passphraseFrom(o: { passphraseEnv?: string; passphraseFile?: string }, env: NodeJS.ProcessEnv = process.env): string {
  if (o.passphraseFile) {
    if (!existsSync(o.passphraseFile)) throw new Error(`passphrase file ${o.passphraseFile} not found`);
    return readFileSync(o.passphraseFile, 'utf8').replace(/\r?\n$/, '');
  }
  const name = o.passphraseEnv ?? DEFAULT_PASSPHRASE_ENV;
  const value = env[name];
  if (!value) throw new Error(`no backup passphrase: set ${name}${o.passphraseEnv ? '' : ' (or give --passphrase-env VAR or --passphrase-file FILE)'}`);
  return value;
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

export function registerOpsCommands(program: Command<any, any, any>, configFrom: ConfigFrom): void {
  program
    .command('backup')
    .description('write an encrypted backup: a consistent snapshot of the database and the secret key')
    .requiredOption('--out <file>', 'backup file to write')
    .option('--passphrase-env <var>', `environment variable holding the passphrase (default ${DEFAULT_PASSPHRASE_ENV})`)
    .option('--passphrase-file <file>', 'file holding the passphrase')
    .option('--force', 'overwrite an existing file')
    .action(async (o, cmd) => {
      const passphrase = passphraseFrom(o);
      if (existsSync(o.out) && !o.force) throw new Error(`${o.out} exists: use --force to overwrite it`);
      const config = configFrom(cmd);
      const { archive, counts } = await createBackup({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, secretKey: config.secretKey }, passphrase);
      // Written beside the target and renamed, so a crash never leaves half a backup under the real name.
      const tmp = `${o.out}.${process.pid}.tmp`;
      writeFileSync(tmp, archive, { mode: 0o600 });
      renameSync(tmp, o.out);
      console.log(`wrote ${o.out}: ${total(counts)} rows in ${Object.keys(counts).length} tables and the secret key (${archive.length} bytes, encrypted)`);
    });

  program
    .command('restore')
    .description('restore a backup into this installation (database and data directory); runs the migrations')
    .requiredOption('--in <file>', 'backup file to read')
    .option('--passphrase-env <var>', `environment variable holding the passphrase (default ${DEFAULT_PASSPHRASE_ENV})`)
    .option('--passphrase-file <file>', 'file holding the passphrase')
    .option('--force', 'replace a database that holds data, and a different secret.key')
    .action(async (o, cmd) => {
      const passphrase = passphraseFrom(o);
      if (!existsSync(o.in)) throw new Error(`${o.in} not found`);
      const config = configFrom(cmd);
      const r = await restoreBackup({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, secretKey: config.secretKey }, readFileSync(o.in), passphrase, { force: Boolean(o.force) });
      console.log(`restored the backup of ${new Date(r.createdAt).toISOString()}: ${total(r.counts)} rows in ${Object.keys(r.counts).length} tables${config.secretKey ? '' : `, secret key in ${config.dataDir}`}${r.migrated.length ? `; then applied ${r.migrated.join(', ')}` : ''}`);
    });

  program
    .command('migrate-db')
    .description('copy an installation from SQLite to PostgreSQL: every row, secrets still sealed with the same secret.key')
    .requiredOption('--from <url>', 'sqlite:PATH of the installation to move')
    .requiredOption('--to <url>', 'postgres://… of the new database (migrated here first)')
    .option('--force', 'replace a target database that holds data')
    .action(async (o) => {
      const r = await migrateDatabase(o.from, o.to, { force: Boolean(o.force) });
      console.log(`copied ${total(r.counts)} rows in ${Object.keys(r.counts).length} tables; counts verified. Keep the same data directory (secret.key) and set POMONA_DATABASE_URL to the new database.`);
    });
}
