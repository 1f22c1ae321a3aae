// The `passwordHash` of AccountConfiguration's AutoSetupAdminAccounts and of SetAutoAdminPassword
// (apple/device-management `other/passwordhash.yaml`, `mdm/commands/set.auto.admin.password.yaml`):
// a dictionary {"SALTED-SHA512-PBKDF2": {entropy, salt, iterations}} converted to binary plist
// data. `entropy` is PBKDF2-HMAC-SHA512 of the password; Apple leaves its length open, and macOS
// itself (ShadowHashData, dscl) and MicroMDM use 128 bytes, so we do too. `salt` is 32 random
// bytes. Without a calibration on the Mac, Apple suggests 20,000 to 40,000 iterations.
import { pbkdf2, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { buildBinaryPlist } from './binary-plist.js';
import { isPlistDict, parsePlist } from './plist.js';

export const PASSWORD_HASH_KEY = 'SALTED-SHA512-PBKDF2';
export const ENTROPY_BYTES = 128;
export const SALT_BYTES = 32;
/** The top of Apple's suggested range: the Mac checks it once per login, we compute it once per password. */
export const DEFAULT_ITERATIONS = 40_000;

export class PasswordHashError extends Error {
  override name = 'PasswordHashError';
}

export interface PasswordHash {
  entropy: Buffer;
  salt: Buffer;
  iterations: number;
}

const pbkdf2Async = promisify(pbkdf2);

/** The binary-plist password hash of `password` (derived off the event loop). */
export async function createPasswordHash(password: string, opts: { iterations?: number; salt?: Buffer } = {}): Promise<Buffer> {
  const iterations = opts.iterations ?? DEFAULT_ITERATIONS;
  const salt = opts.salt ?? randomBytes(SALT_BYTES);
  if (salt.length !== SALT_BYTES) throw new PasswordHashError(`the salt must be ${SALT_BYTES} bytes`);
  if (!Number.isInteger(iterations) || iterations < 1) throw new PasswordHashError('iterations must be a positive integer');
  const entropy = await pbkdf2Async(Buffer.from(password, 'utf8'), salt, iterations, ENTROPY_BYTES, 'sha512');
  return buildBinaryPlist({ [PASSWORD_HASH_KEY]: { entropy, iterations, salt } });
}

/**
 * Reads a password hash (binary or XML plist) and checks its shape as Apple's schema gives it:
 * entropy (data), salt (32 bytes of data) and iterations (a positive integer).
 */
export function parsePasswordHash(data: Buffer): PasswordHash {
  let dict;
  try {
    dict = parsePlist(data);
  } catch (err) {
    throw new PasswordHashError(`the password hash is not a property list (${(err as Error).message})`);
  }
  const inner = dict[PASSWORD_HASH_KEY];
  if (!isPlistDict(inner)) throw new PasswordHashError(`the password hash has no ${PASSWORD_HASH_KEY} dictionary`);
  const { entropy, salt, iterations } = inner;
  if (!Buffer.isBuffer(entropy) || entropy.length === 0) throw new PasswordHashError('entropy must be non-empty data');
  if (!Buffer.isBuffer(salt) || salt.length !== SALT_BYTES) throw new PasswordHashError(`salt must be ${SALT_BYTES} bytes of data`);
  if (typeof iterations !== 'number' || !Number.isInteger(iterations) || iterations < 1) throw new PasswordHashError('iterations must be a positive integer');
  return { entropy, salt, iterations };
}

/** Whether `password` matches a parsed hash (what the Mac does at login). */
export function verifyPassword(password: string, hash: PasswordHash): boolean {
  const derived = pbkdf2Sync(Buffer.from(password, 'utf8'), hash.salt, hash.iterations, hash.entropy.length, 'sha512');
  return timingSafeEqual(derived, hash.entropy);
}
