/**
 * Backup and restore of an installation: the database's rows (one consistent snapshot) and the
 * data directory's secret key, which every sealed secret in those rows needs. No CLI here: the
 * caller gives the locations and the passphrase, and gets bytes or counts back.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../db/database.js';
import { SecretBox } from '../pki/secret-box.js';
import { openArchive, sealArchive, type KdfParams } from './backup-archive.js';
import { decodeContents, encodeContents } from './backup-contents.js';
import { loadSnapshot, readSnapshot, TargetNotEmptyError, type Snapshot } from './snapshot.js';

export interface Installation {
  databaseUrl: string;
  dataDir: string;
  /** the configured POMONA_SECRET_KEY (base64), when the key does not live in the data directory */
  secretKey?: string;
}

const KEY_FILE = 'secret.key';

function decodeKey(text: string, where: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32) throw new Error(`${where} does not hold a 32-byte base64 key`);
  return key;
}

/** The installation's key: configured, or DATA_DIR/secret.key (never created here: a backup of a keyless directory is a mistake). */
function installationKey(inst: Installation): Buffer {
  if (inst.secretKey) return decodeKey(inst.secretKey, 'POMONA_SECRET_KEY');
  const file = join(inst.dataDir, KEY_FILE);
  if (!existsSync(file)) throw new Error(`${file} not found: is the data directory right? (or set POMONA_SECRET_KEY)`);
  return decodeKey(readFileSync(file, 'utf8'), file);
}

/** Catches a key that belongs to another installation before it is written into a backup or next to a database. */
function assertKeyOpens(snapshot: Snapshot, key: Buffer, what: string): void {
  const ca = snapshot.tables.find((t) => t.name === 'certificate_authorities')?.rows[0];
  if (!ca) return;
  try {
    new SecretBox(key).open(ca.key_enc as Buffer);
  } catch {
    throw new Error(`${what} does not open the database's sealed secrets (the device CA key): wrong data directory or key?`);
  }
}

export async function createBackup(inst: Installation, passphrase: string, opts: { now?: () => number; kdf?: KdfParams } = {}): Promise<{ archive: Buffer; counts: Record<string, number> }> {
  const key = installationKey(inst);
  const handle = openDatabase(inst.databaseUrl, { poolSize: 1 });
  let snapshot: Snapshot;
  try {
    snapshot = await readSnapshot(handle.db);
  } finally {
    await handle.close();
  }
  assertKeyOpens(snapshot, key, 'the secret key');
  const contents = encodeContents({
    createdAt: (opts.now ?? Date.now)(),
    dialect: handle.dialect,
    files: { [KEY_FILE]: Buffer.from(key.toString('base64') + '\n') },
    snapshot,
  });
  return { archive: sealArchive(contents, passphrase, opts.kdf), counts: Object.fromEntries(snapshot.tables.map((t) => [t.name, t.rows.length])) };
}

export interface RestoreResult {
  createdAt: number;
  counts: Record<string, number>;
  /** migrations run after loading (the backup came from an older Pomona) */
  migrated: string[];
}

/**
 * Restores into the installation `inst` points at. Refuses, before writing anything, a wrong
 * passphrase, a damaged file, a database holding data or a different key already in place —
 * the last two unless `force`.
 */
export async function restoreBackup(inst: Installation, archive: Buffer, passphrase: string, opts: { force?: boolean } = {}): Promise<RestoreResult> {
  const contents = decodeContents(openArchive(archive, passphrase));
  const keyText = contents.files[KEY_FILE];
  if (!keyText) throw new Error('the backup holds no secret key');
  const key = decodeKey(keyText.toString('utf8'), 'the backup');
  assertKeyOpens(contents.snapshot, key, "the backup's secret key");

  const keyFile = join(inst.dataDir, KEY_FILE);
  if (inst.secretKey) {
    // A configured key wins over the file; restoring under a different one would leave every secret sealed shut.
    if (!decodeKey(inst.secretKey, 'POMONA_SECRET_KEY').equals(key)) throw new Error("POMONA_SECRET_KEY is not the backup's key: unset it (the key is restored to the data directory) or set it to the backup's key");
  } else if (existsSync(keyFile) && !decodeKey(readFileSync(keyFile, 'utf8'), keyFile).equals(key) && !opts.force) {
    throw new TargetNotEmptyError(`${keyFile} holds a different key: use --force to replace it`);
  }

  const handle = openDatabase(inst.databaseUrl, { poolSize: 1 });
  let migrated: string[];
  try {
    ({ migrated } = await loadSnapshot(handle.db, contents.snapshot, { force: opts.force }));
  } finally {
    await handle.close();
  }
  if (!inst.secretKey) {
    mkdirSync(inst.dataDir, { recursive: true });
    writeFileSync(keyFile, keyText, { mode: 0o600 });
  }
  return { createdAt: contents.createdAt, counts: Object.fromEntries(contents.snapshot.tables.map((t) => [t.name, t.rows.length])), migrated };
}
