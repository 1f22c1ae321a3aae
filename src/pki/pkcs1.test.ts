import { constants, generateKeyPairSync, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptPkcs1KeyTransport, rejectionSecret, syntheticKey, unpadPkcs1 } from './pkcs1.js';

const K = 256; // 2048-bit modulus
const fallback = Buffer.alloc(16, 0xee);

/** A v1.5 encryption block: 00 02 PS 00 M, with PS of non-zero bytes. */
function block(message: Buffer, opts: { first?: number; second?: number; psLength?: number; separator?: boolean } = {}): Buffer {
  const psLength = opts.psLength ?? K - 3 - message.length;
  const em = Buffer.alloc(K, 0x5a);
  em[0] = opts.first ?? 0;
  em[1] = opts.second ?? 2;
  const sepAt = 2 + psLength;
  if (opts.separator !== false) em[sepAt] = 0;
  message.copy(em, K - message.length);
  return em;
}

describe('unpadPkcs1', () => {
  it('returns the message of a valid block', () => {
    const m = randomBytes(16);
    expect(unpadPkcs1(block(m), 16, fallback)).toEqual(m);
  });

  it('accepts the minimum eight bytes of padding', () => {
    const m = randomBytes(K - 11);
    expect(unpadPkcs1(block(m, { psLength: 8 }), K - 11, Buffer.alloc(K - 11, 1))).toEqual(m);
  });

  const malformed: Array<[string, Buffer]> = [
    ['first byte not zero', block(Buffer.alloc(16, 1), { first: 1 })],
    ['second byte not 02', block(Buffer.alloc(16, 1), { second: 1 })],
    ['block type 01 (signature padding)', block(Buffer.alloc(16, 1), { second: 1 })],
    ['no separator', block(Buffer.alloc(16, 1), { separator: false })],
    ['padding shorter than eight bytes', (() => {
      const em = block(Buffer.alloc(16, 1));
      em[5] = 0; // a zero inside the padding: the separator comes too early
      return em;
    })()],
    ['zero-length key (separator is the last byte)', (() => {
      const em = Buffer.alloc(K, 0x5a);
      em[0] = 0;
      em[1] = 2;
      em[K - 1] = 0;
      return em;
    })()],
    ['message of another length', block(Buffer.alloc(24, 1))],
    ['all zero', Buffer.alloc(K)],
  ];
  for (const [name, em] of malformed) {
    it(`returns the implicit-rejection key, not an error: ${name}`, () => {
      expect(unpadPkcs1(em, 16, fallback)).toEqual(fallback);
    });
  }
});

describe('decryptPkcs1KeyTransport', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const encrypt = (key: KeyObject, m: Buffer) => publicEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, m);

  it('decrypts what publicEncrypt(RSA_PKCS1_PADDING) produced', () => {
    for (const length of [8, 16, 24, 32]) {
      const cek = randomBytes(length);
      expect(decryptPkcs1KeyTransport(privateKey, encrypt(publicKey, cek), length)).toEqual(cek);
    }
  });

  it('answers a wrong length, garbage or an out-of-range value with a deterministic key of the expected length', () => {
    const secret = rejectionSecret(privateKey);
    for (const ct of [randomBytes(256), Buffer.alloc(256, 0xff), randomBytes(12), Buffer.alloc(0), encrypt(publicKey, randomBytes(24))]) {
      const a = decryptPkcs1KeyTransport(privateKey, ct, 16);
      expect(a).toHaveLength(16);
      expect(decryptPkcs1KeyTransport(privateKey, ct, 16)).toEqual(a);
      expect(a).toEqual(syntheticKey(secret, ct, 16));
    }
  });

  it('derives different rejection keys for different ciphertexts and keys', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const ct = randomBytes(256);
    const a = decryptPkcs1KeyTransport(privateKey, ct, 32);
    expect(decryptPkcs1KeyTransport(privateKey, randomBytes(256), 32)).not.toEqual(a);
    expect(decryptPkcs1KeyTransport(other, ct, 32)).not.toEqual(a);
  });
});
