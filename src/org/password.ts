/**
 * Admin password hashing with node:crypto scrypt. The stored string describes itself
 * (`scrypt$N$r$p$salt$hash`, salt and hash base64url) so the cost can be raised later
 * without invalidating existing hashes: verification always uses the stored parameters.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';

export const MIN_PASSWORD_LENGTH = 12;
/** Long enough for any passphrase, short enough that hashing stays cheap to refuse. */
export const MAX_PASSWORD_LENGTH = 1024;

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** ~50–100 ms on one core of the project machine: slow for guessing, fine for a login. */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };

const SALT_BYTES = 16;
const HASH_BYTES = 32;

export class PasswordPolicyError extends Error {
  override name = 'PasswordPolicyError';
}

/** Throws a PasswordPolicyError whose message can be shown to the admin as is. */
export function checkPasswordPolicy(password: string): void {
  if (typeof password !== 'string' || password.length < MIN_PASSWORD_LENGTH) {
    throw new PasswordPolicyError(`password must be at least ${MIN_PASSWORD_LENGTH} characters long`);
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new PasswordPolicyError(`password must be at most ${MAX_PASSWORD_LENGTH} characters long`);
  }
}

function derive(password: string, salt: Buffer, params: ScryptParams, keylen = HASH_BYTES): Promise<Buffer> {
  // Node's default maxmem (32 MiB) is exactly 128·N·r for the defaults and scrypt needs a bit more.
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r * params.p };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Hashes without checking the policy (callers creating users check it first). */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

function parseHash(stored: string): { params: ScryptParams; salt: Buffer; hash: Buffer } | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  // Bounds keep a corrupted or hostile row from asking for gigabytes of memory.
  if (![N, r, p].every(Number.isSafeInteger) || N < 2 || N > 2 ** 20 || (N & (N - 1)) !== 0) return null;
  if (r < 1 || r > 32 || p < 1 || p > 16) return null;
  const salt = Buffer.from(parts[4], 'base64url');
  const hash = Buffer.from(parts[5], 'base64url');
  if (salt.length === 0 || hash.length < 16 || hash.length > 64) return null;
  return { params: { N, r, p }, salt, hash };
}

/**
 * Argon2id (OWASP's parameters: 19 MiB, 2 passes) for end users' passwords and PINs; the PHC
 * string (`$argon2id$v=19$m=…`) carries its parameters, and verifyPassword reads both kinds.
 */
export function hashPasswordArgon2(password: string): Promise<string> {
  return argon2Hash(password.normalize('NFC'), { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 });
}

/** Constant-time comparison of the derived key; false (never a throw) for a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (stored.startsWith('$argon2')) {
    if (typeof password !== 'string' || password.length > MAX_PASSWORD_LENGTH) return false;
    return argon2Verify(stored, password.normalize('NFC')).catch(() => false);
  }
  const parsed = parseHash(stored);
  if (!parsed || typeof password !== 'string' || password.length > MAX_PASSWORD_LENGTH) return false;
  const candidate = await derive(password, parsed.salt, parsed.params, parsed.hash.length);
  return timingSafeEqual(candidate, parsed.hash);
}
