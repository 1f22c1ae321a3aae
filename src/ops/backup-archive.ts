/**
 * The encrypted backup file. Layout:
 *   "PMNABKUP" ‖ u32 BE header length ‖ header (JSON) ‖ AES-256-GCM ciphertext ‖ 16-byte tag
 * The header carries the format version, the scrypt parameters and salt, the GCM nonce and a
 * passphrase check; the whole prefix is authenticated as associated data, so altering the KDF
 * parameters is detected like altering the body. The check (a hash of key material the cipher
 * never uses) tells a wrong passphrase apart from a damaged file without weakening either.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

const MAGIC = Buffer.from('PMNABKUP');
export const ARCHIVE_FORMAT = 1;
const TAG_LENGTH = 16;

export interface KdfParams {
  N: number;
  r: number;
  p: number;
}

/** 64 MiB and a few hundred milliseconds per attempt: slow for guessing, quick for one restore. */
export const DEFAULT_KDF: KdfParams = { N: 2 ** 16, r: 8, p: 1 };
// A crafted header must not make us allocate without bound.
const MAX_KDF: KdfParams = { N: 2 ** 20, r: 16, p: 4 };

interface Header {
  format: number;
  kdf: { name: 'scrypt'; salt: string } & KdfParams;
  cipher: 'aes-256-gcm';
  nonce: string;
  check: string;
}

/** Any reason a backup file cannot be opened; its message is the one line the CLI prints. */
export class BackupArchiveError extends Error {}

export const MIN_PASSPHRASE_LENGTH = 8;

function checkPassphrase(passphrase: string): void {
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) throw new BackupArchiveError(`the backup passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters`);
}

function deriveKeys(passphrase: string, salt: Buffer, kdf: KdfParams): { key: Buffer; check: Buffer } {
  const out = scryptSync(passphrase.normalize('NFC'), salt, 64, { ...kdf, maxmem: 256 * kdf.N * kdf.r + 1024 * 1024 });
  return { key: out.subarray(0, 32), check: createHash('sha256').update(out.subarray(32)).digest().subarray(0, 16) };
}

export function sealArchive(plain: Buffer, passphrase: string, kdf: KdfParams = DEFAULT_KDF): Buffer {
  checkPassphrase(passphrase);
  const salt = randomBytes(16);
  const nonce = randomBytes(12);
  const { key, check } = deriveKeys(passphrase, salt, kdf);
  const header: Header = {
    format: ARCHIVE_FORMAT,
    kdf: { name: 'scrypt', ...kdf, salt: salt.toString('base64') },
    cipher: 'aes-256-gcm',
    nonce: nonce.toString('base64'),
    check: check.toString('base64'),
  };
  const headerBytes = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(headerBytes.length);
  const prefix = Buffer.concat([MAGIC, length, headerBytes]);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(prefix);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([prefix, body, cipher.getAuthTag()]);
}

export function openArchive(file: Buffer, passphrase: string): Buffer {
  const lead = Math.min(file.length, MAGIC.length);
  if (!lead || !file.subarray(0, lead).equals(MAGIC.subarray(0, lead))) throw new BackupArchiveError('not a Pomona backup file');
  if (file.length < MAGIC.length + 4) throw new BackupArchiveError('the backup file is truncated or damaged');
  const headerLength = file.readUInt32BE(MAGIC.length);
  const bodyStart = MAGIC.length + 4 + headerLength;
  if (headerLength > 64 * 1024 || file.length < bodyStart + TAG_LENGTH) throw new BackupArchiveError('the backup file is truncated or damaged');
  let header: Header;
  try {
    header = JSON.parse(file.subarray(MAGIC.length + 4, bodyStart).toString('utf8')) as Header;
  } catch {
    throw new BackupArchiveError('the backup file is damaged (unreadable header)');
  }
  if (header.format !== ARCHIVE_FORMAT) throw new BackupArchiveError(`backup format ${String(header.format)} is not supported by this Pomona (it reads format ${ARCHIVE_FORMAT})`);
  const { kdf } = header;
  const sane = (n: unknown, max: number) => Number.isInteger(n) && (n as number) > 0 && (n as number) <= max;
  if (kdf?.name !== 'scrypt' || !sane(kdf.N, MAX_KDF.N) || !sane(kdf.r, MAX_KDF.r) || !sane(kdf.p, MAX_KDF.p) || header.cipher !== 'aes-256-gcm' || typeof header.nonce !== 'string' || typeof header.check !== 'string' || typeof kdf.salt !== 'string') {
    throw new BackupArchiveError('the backup file is damaged (bad header)');
  }
  checkPassphrase(passphrase);
  const { key, check } = deriveKeys(passphrase, Buffer.from(kdf.salt, 'base64'), { N: kdf.N, r: kdf.r, p: kdf.p });
  const expected = Buffer.from(header.check, 'base64');
  if (expected.length !== check.length || !timingSafeEqual(expected, check)) throw new BackupArchiveError('wrong backup passphrase');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(header.nonce, 'base64'));
  decipher.setAAD(file.subarray(0, bodyStart));
  decipher.setAuthTag(file.subarray(file.length - TAG_LENGTH));
  try {
    return Buffer.concat([decipher.update(file.subarray(bodyStart, file.length - TAG_LENGTH)), decipher.final()]);
  } catch {
    throw new BackupArchiveError('the backup file was altered or is damaged (authentication failed)');
  }
}
