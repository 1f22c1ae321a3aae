/**
 * RSAES-PKCS1-v1_5 key-transport decryption for envelopes sent by devices.
 *
 * Node 20 refuses RSA_PKCS1_PADDING private decryption (CVE-2023-46809, the Marvin attack),
 * so we do the raw RSA step with RSA_NO_PADDING and strip the padding here. Because the
 * ciphertext comes from an unauthenticated client, the unpad must not become a padding
 * oracle: it runs without data-dependent branches and, when the padding is wrong, returns a
 * deterministic pseudo-random key instead of failing ("implicit rejection", as in OpenSSL
 * 3.2 and draft-irtf-cfrg-rsa-guidance). The caller then fails later, at the symmetric
 * layer, exactly as it would with a well-formed but wrong key.
 */
import { constants, createHash, createHmac, privateDecrypt, type KeyObject } from 'node:crypto';

/** Smallest padding string PKCS#1 v1.5 allows (RFC 8017 §7.2.2). */
const MIN_PADDING = 8;

const secrets = new WeakMap<KeyObject, Buffer>();

/** Per-key secret for implicit rejection; derived from the private key so every node of a cluster agrees. */
export function rejectionSecret(privateKey: KeyObject): Buffer {
  let secret = secrets.get(privateKey);
  if (!secret) {
    const der = privateKey.export({ format: 'der', type: 'pkcs8' });
    secret = createHash('sha256').update('pomona pkcs1 implicit rejection\0').update(der).digest();
    secrets.set(privateKey, secret);
  }
  return secret;
}

/** The key returned for a ciphertext whose padding is wrong: stable per (secret, ciphertext). */
export function syntheticKey(secret: Buffer, ciphertext: Buffer, length: number): Buffer {
  const kdk = createHmac('sha256', secret).update(ciphertext).digest();
  const out = Buffer.alloc(length);
  for (let counter = 0, off = 0; off < length; counter++, off += 32) {
    createHmac('sha256', kdk).update(Buffer.from([counter >> 8, counter & 0xff])).update('synthetic key').digest().copy(out, off);
  }
  return out;
}

/** 0xff when x === 0 else 0x00, for 0 <= x < 2^31, without a branch. */
function zeroMask(x: number): number {
  return (((x | -x) >>> 31) - 1) & 0xff;
}

/**
 * Checks the v1.5 encryption block `em` (length k = modulus bytes) in constant time and returns
 * the `expectedLength`-byte message it carries, or `fallback` (same length) when the block is
 * not `00 02 PS(>= 8 non-zero bytes) 00 M` with |M| = expectedLength.
 * Requiring the exact length puts M at a fixed offset, so no memory access depends on the data.
 */
export function unpadPkcs1(em: Buffer, expectedLength: number, fallback: Buffer): Buffer {
  const k = em.length;
  if (fallback.length !== expectedLength) throw new Error('fallback key has the wrong length');
  if (expectedLength < 1 || expectedLength > k - 11) return Buffer.from(fallback);
  let good = zeroMask(em[0]) & zeroMask(em[1] ^ 2);
  let foundZero = 0;
  let zeroIndex = 0;
  for (let i = 2; i < k; i++) {
    const isZero = zeroMask(em[i]);
    const firstZero = -(isZero & ~foundZero & 1); // all ones at the first zero byte only
    zeroIndex |= i & firstZero;
    foundZero |= isZero;
  }
  good &= foundZero;
  // separator must be at index >= 2 + MIN_PADDING; compute (zeroIndex - (2 + MIN_PADDING)) >= 0 as a mask
  good &= ~((zeroIndex - (2 + MIN_PADDING)) >> 31) & 0xff;
  good &= zeroMask(k - zeroIndex - 1 - expectedLength);
  const out = Buffer.alloc(expectedLength);
  const keep = good & 0xff;
  const off = k - expectedLength;
  for (let i = 0; i < expectedLength; i++) out[i] = (em[off + i] & keep) | (fallback[i] & ~keep & 0xff);
  return out;
}

/**
 * Decrypts a PKCS#1 v1.5 key-transport ciphertext. Never throws for a bad ciphertext: a wrong
 * length, a value above the modulus or bad padding all yield the implicit-rejection key.
 */
export function decryptPkcs1KeyTransport(
  privateKey: KeyObject,
  ciphertext: Buffer,
  expectedLength: number,
  secret: Buffer = rejectionSecret(privateKey),
): Buffer {
  const fallback = syntheticKey(secret, ciphertext, expectedLength);
  const k = Math.ceil((privateKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
  // The ciphertext length and its range are public properties, not padding information.
  if (k === 0 || ciphertext.length !== k) return fallback;
  let em: Buffer;
  try {
    em = privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, ciphertext);
  } catch {
    return fallback;
  }
  if (em.length !== k) return fallback;
  return unpadPkcs1(em, expectedLength, fallback);
}
